#!/usr/bin/python3
"""The runtime fuzz targets' seed corpora (fuzz/corpus/<name>/seed-*).

    /usr/bin/python3 fuzz/make_corpus.py [CORPUS_DIR]

Writes small inputs in the forms clients and archivers send, a few hostile
ones, for each target of fuzz/fuzz.mk (fuzz/README.md lists them).  The
seeds are committed; this script is how they were made, and makes them
again byte for byte (fixed dates, seeds and gzip times).  Only seed-* files
are written: a finding's reproducer (regress-*) is added by hand and kept.

Needs Debian's Pillow and NumPy (the PNG writer is the decoder fixtures'
own, t/images/make_decode_fixtures.py).
"""

import gzip
import io
import json
import os
import struct
import sys
import tarfile
import zipfile
import zlib
from decimal import Decimal, getcontext

import numpy as np
from PIL import Image

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "t", "images"))

from make_decode_fixtures import photo, write_png  # noqa: E402

DATE = (2026, 1, 1, 0, 0, 0)


class Corpus:

    def __init__(self, folder):
        self.folder = folder

    def seed(self, target, name, data):
        d = os.path.join(self.folder, target)
        os.makedirs(d, exist_ok=True)
        if isinstance(data, str):
            data = data.encode()
        with open(os.path.join(d, "seed-" + name), "wb") as f:
            f.write(data)


# --- archives -------------------------------------------------------------

def manifest(name="m", serialized="model.pt", **more):
    model = {"modelName": name, "modelVersion": "1.0", "handler": "tensor"}
    if serialized is not None:
        model["serializedFile"] = serialized
    model.update(more)
    return json.dumps({"createdOn": "01/01/2026 00:00:00",
                       "runtime": "python", "model": model,
                       "archiverVersion": "0.12.0"}, indent=2)


def zip_bytes(entries, compression=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, DATE)
            info.compress_type = compression
            if name.endswith("/"):
                info.external_attr = 0o40755 << 16
            z.writestr(info, data)
    return buf.getvalue()


def torchscript():
    """A TorchScript file's layout (torch.jit.save: stored, one top folder)."""
    return zip_bytes([("model/data.pkl", b"\x80\x02}q\x00."),
                      ("model/code/__torch__.py", b"def forward(self, x):\n"
                       b"  return x\n"),
                      ("model/constants.pkl", b"\x80\x02).")],
                     zipfile.ZIP_STORED)


def state_dict():
    """A torch.save file: data.pkl, no code."""
    return zip_bytes([("archive/data.pkl", b"\x80\x02}q\x00."),
                      ("archive/data/0", bytes(16)),
                      ("archive/version", b"3\n")], zipfile.ZIP_STORED)


CONFIG = "minWorkers: 1\nbatchSize: 2\nhandler:\n  topk: 3\n"


def tar_bytes(entries, gz=True):
    """entries: (name, data) or (name, None, type, linkname)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for e in entries:
            info = tarfile.TarInfo(e[0])
            info.mtime = 0
            if len(e) == 2 and e[1] is not None:
                info.size = len(e[1])
                t.addfile(info, io.BytesIO(e[1]))
            else:
                info.type = e[2]
                info.linkname = e[3]
                t.addfile(info)
        end = t.offset
    # the two zero blocks that end it, not tarfile's padding to 10 KB
    data = buf.getvalue()[:end + 1024]
    return gzip.compress(data, 9, mtime=0) if gz else data


def archives(c):
    files = [("MAR-INF/MANIFEST.json",
              manifest(configFile="model-config.yaml")),
             ("model.pt", torchscript()),
             ("model-config.yaml", CONFIG),
             ("index_to_name.json", '{"0": "zero"}')]
    c.seed("archive", "zip-deflate.mar", zip_bytes(files))
    c.seed("archive", "zip-stored.mar", zip_bytes(files, zipfile.ZIP_STORED))
    c.seed("archive", "zip-dirs.mar",
           zip_bytes([("MAR-INF/", b""), ("sub/", b"")] + files))
    top = [("m/", None, tarfile.DIRTYPE, "")]
    c.seed("archive", "model.tar.gz",
           tar_bytes(top + [("m/" + n, d.encode() if isinstance(d, str)
                             else d) for n, d in files]))
    c.seed("archive", "model.tar",
           tar_bytes([("m/" + n, d.encode() if isinstance(d, str) else d)
                      for n, d in files], gz=False))
    c.seed("archive", "eager.mar",
           zip_bytes([("MAR-INF/MANIFEST.json",
                       manifest(serialized="w.pt", modelFile="model.py")),
                      ("w.pt", state_dict()), ("model.py", "class M: pass\n")]))
    c.seed("archive", "state-dict.mar",
           zip_bytes([("MAR-INF/MANIFEST.json", manifest()),
                      ("model.pt", state_dict())]))
    c.seed("archive", "not-torchscript.mar",
           zip_bytes([("MAR-INF/MANIFEST.json", manifest()),
                      ("model.pt", b"not a zip")]))
    # refused: what a hostile archiver may write
    c.seed("archive", "dotdot.tar.gz",
           tar_bytes([("m/MAR-INF/MANIFEST.json", manifest().encode()),
                      ("m/../evil", b"x")]))
    c.seed("archive", "symlink.tar",
           tar_bytes([("m/MAR-INF/MANIFEST.json", manifest().encode()),
                      ("m/model.pt", None, tarfile.SYMTYPE, "/etc/passwd")],
                     gz=False))
    c.seed("archive", "hardlink.tar.gz",
           tar_bytes([("m/MAR-INF/MANIFEST.json", manifest().encode()),
                      ("m/model.pt", None, tarfile.LNKTYPE,
                       "m/MAR-INF/MANIFEST.json")]))
    c.seed("archive", "twice.tar.gz",
           tar_bytes([("a/MAR-INF/MANIFEST.json", manifest().encode()),
                      ("b/MAR-INF/MANIFEST.json", manifest().encode())]))
    c.seed("archive", "absolute.mar",
           zip_bytes([("MAR-INF/MANIFEST.json", manifest()),
                      ("/tmp/evil", b"x")]))
    c.seed("archive", "file-and-folder.mar",
           zip_bytes([("MAR-INF/MANIFEST.json", manifest()),
                      ("a", b"x"), ("a/b", b"y")]))
    c.seed("archive", "empty.zip", b"PK\x05\x06" + bytes(18))

    pt = torchscript()
    c.seed("archive_dir", "torchscript", manifest().encode() + b"\0" + pt)
    c.seed("archive_dir", "state-dict",
           manifest().encode() + b"\0" + state_dict())
    c.seed("archive_dir", "eager",
           manifest(modelFile="model.py").encode() + b"\0" + pt)
    c.seed("archive_dir", "in-sub", manifest(serialized="sub/extra.txt"))
    c.seed("archive_dir", "missing", manifest(serialized="gone.pt"))
    c.seed("archive_dir", "no-model", manifest(serialized=None))


# --- text formats ---------------------------------------------------------

def manifests(c):
    c.seed("manifest", "full", manifest(extensions="", requirementsFile="r.txt",
                                        configFile="model-config.yaml",
                                        envelope="json", description="d"))
    c.seed("manifest", "minimal", '{"model": {"modelName": "m"}}')
    c.seed("manifest", "nulls",
           '{"runtime": null, "model": {"modelName": "m", "handler": null}}')
    c.seed("manifest", "not-string", '{"model": {"modelName": "m", '
           '"serializedFile": 3}}')
    c.seed("manifest", "escapes", '{"model": {"modelName": "m\\u00e9\\ud83d'
           '\\ude00\\n"}, "description": "\\"q\\""}')
    c.seed("manifest", "empty-name", '{"model": {"modelName": ""}}')
    c.seed("manifest", "duplicate", '{"model": {"modelName": "a", '
           '"modelName": "b"}}')
    c.seed("manifest", "array", '[{"model": {}}]')


def model_configs(c):
    c.seed("model_config", "torchserve-valid",
           "# TS Frontend parameters\nminWorkers: 1\nmaxWorkers: 1\n"
           "batchSize: 1\nmaxBatchDelay: 100\nresponseTimeout: 120\n"
           "deviceType: \"gpu\" # cpu, gpu\ndeviceIds: [0,1,2,3]\n"
           "parallelType: \"pp\"\n\ntorchrun:\n  nproc-per-node: 4\n")
    c.seed("model_config", "torchserve-invalid",
           "minWorkers: a\nmaxWorkers: 1\nbatchSize: 1\nmaxBatchDelay: 100\n"
           "responseTimeout: 120\ndeviceType: xpu\ndeviceIds: 0,1,2,3]\n")
    c.seed("model_config", "all-keys",
           "minWorkers: 2\nmaxWorkers: 3\nbatchSize: 4\nmaxBatchDelay: 50\n"
           "responseTimeout: 30\njobQueueSize: 7\ndeviceType: cpu\n"
           "deviceIds: none\nhandler:\n  topk: 3\n")
    c.seed("model_config", "clamped",
           "minWorkers: -5\nmaxWorkers: -1\nbatchSize: 0\n"
           "maxBatchDelay: -2\nresponseTimeout: 0\njobQueueSize: -3\n")
    c.seed("model_config", "numbers",
           "minWorkers: 0x10\nmaxWorkers: 0b101\nbatchSize: 017\n"
           "maxBatchDelay: 1_000\nresponseTimeout: 2147483648\n"
           "jobQueueSize: !!int '12'\nhandler:\n  a: 1.5\n  b: .5\n"
           "  c: -.inf\n  d: .NaN\n  e: 1e3\n  f: 99999999999999999999\n"
           "  g: ~\n  h: yes\n  i: Off\n  j: 12:30\n")
    c.seed("model_config", "vision",
           "handler:\n  channels: 1\n  resize: null\n  crop: null\n"
           "  normalize: false\n  postprocess: \"argmax\"\n"
           "  mean: [0.485, 0.456, 0.406]\n  std: [0.229, 0.224, 0.225]\n")
    c.seed("model_config", "anchors",
           "base: &b {x: 1, y: [1, 2, &s str]}\nhandler:\n  <<: *b\n"
           "  again: *b\n  s: *s\n")
    c.seed("model_config", "flow", "{minWorkers: 1, handler: {k: [a, {b: c}]}}")
    c.seed("model_config", "block",
           "handler:\n  text: |\n    two\n    lines\n  folded: >-\n    one\n"
           "    line\n  \"quoted key\": 'single'\n  ? complex\n  : value\n")
    c.seed("model_config", "two-docs", "minWorkers: 1\n---\nminWorkers: 2\n")
    c.seed("model_config", "not-mapping", "- a\n- b\n")
    c.seed("model_config", "empty-doc", "---\n...\n")
    c.seed("model_config", "handler-not-map", "handler: [1, 2]\n"
           "handler: 3\nhandler: {}\n")
    c.seed("model_config", "deep", "a: " + "[" * 70 + "]" * 70 + "\n")
    c.seed("model_config", "laughs",
           "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a]\n"
           "c: &c [*b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c]\n")
    c.seed("model_config", "syntax-error", "handler:\n  a: [1, 2\n")


TENSOR_BODIES = {
    "flat": "[1, 2.5, -3e-2, 0]",
    "nested": "[[1, 2, 3], [4, 5, 6]]",
    "data": '{"data": [[0.1, 0.2], [0.3, 0.4]]}',
    "inputs": '{"inputs": [1e-45, 3.4028235e38, -0, -0.0]}',
    "digits": "[0.30000000000000004, 123456789012345678, 1.0000001192092896,"
              " 3.4028235677973366e38, 16777217, 9007199254740993]",
    "long-fraction": "[0.1234567890123456789012345, 1.5e-320, 2.225e-308]",
    "int-overflow": "[12345678901234567890]",
    "bools": "[[true, false], [false, true]]",
    "mixed": "[1, true, 2.5]",
    "deep": "[" * 8 + "1" + "]" * 8,
    "too-deep": "[" * 9 + "1" + "]" * 9,
    "ragged": "[[1, 2], [3]]",
    "empty-inner": "[[], []]",
    "scalar": "3.25",
    "string": '"abc"',
    "ws": " \t\r\n[ 1 ,\n 2 ] \n",
    "wrapped-two": '{"data": [1], "inputs": [2]}',
    "half": "[65504, 65519.99, 6.1e-5, 5.96e-8]",
    "ints": "[-128, 127, 255, -32768, 32767, -2147483648, 2147483647,"
            " -9223372036854775808, 9223372036854775807]",
}


def rounding_body(n, seed):
    """Decimals at and around the midpoints between adjacent floats, with
    9 to 25 significant digits: where a float32 decoder rounds wrong."""
    rng = np.random.default_rng(seed)
    getcontext().prec = 60
    nums = []
    for _ in range(n):
        bits = int(rng.integers(1, 254)) << 23 | int(rng.integers(0, 1 << 23))
        a, b = (Decimal(float(np.array([x], np.uint32).view(np.float32)[0]))
                for x in (bits, bits + 1))
        mid = (a + b) / 2
        d = (mid, a, mid + (b - a) * Decimal(10) ** -int(rng.integers(8, 20)),
             mid - (b - a) * Decimal(10) ** -int(rng.integers(8, 20)))[n % 4]
        digits = (9, 17, 19, 25)[int(rng.integers(0, 4))]
        nums.append(("-" if rng.integers(0, 2) else "")
                    + format(d, ".%de" % (digits - 1)))
        n -= 1
    return "[" + ", ".join(nums) + "]"


def tensors(c):
    for name, body in TENSOR_BODIES.items():
        c.seed("json_fast", name, body)
        c.seed("json_tensor", name, body)
    c.seed("json_fast", "rounding", rounding_body(64, 11))


def base64s(c):
    c.seed("base64", "padded", "aGVsbG8gd29ybGQ=")
    c.seed("base64", "lines", "aGVs\nbG8g\r\nd29y bGQ=\n")
    c.seed("base64", "stop-at-pad", "YQ==YWJj")
    c.seed("base64", "unpadded", "YWJjZA")
    c.seed("base64", "one-extra", "YWJjZ")
    c.seed("base64", "pads", "Y=Q==")
    c.seed("base64", "urlsafe", "-_-_aGk=")
    c.seed("base64", "8bit", b"aG\xc3\xa9k=")
    c.seed("base64", "all", bytes(range(256)))


# --- forms and vision inputs -------------------------------------------------

def multipart(boundary, parts, crlf="\r\n", preamble="", epilogue=""):
    out = preamble
    for headers, body in parts:
        out += "--" + boundary + crlf
        for h in headers:
            out += h + crlf
        out += crlf + body + crlf
    return (out + "--" + boundary + "--" + crlf + epilogue).encode()


def forms(c, png):
    ct = "multipart/form-data; boundary=XyZ"
    file_part = (['Content-Disposition: form-data; name="data"; '
                  'filename="a.png"', "Content-Type: image/png"], "PNGDATA")
    plain = (['Content-Disposition: form-data; name="body"'], "aGk=")
    c.seed("form", "multipart", ct.encode() + b"\n"
           + multipart("XyZ", [file_part, plain]))
    c.seed("form", "multipart-lf", ct.encode() + b"\n"
           + multipart("XyZ", [plain], crlf="\n", preamble="pre\n",
                       epilogue="epi"))
    c.seed("form", "quoted-boundary",
           b'multipart/form-data; charset=x; boundary="a\\"b c"\n'
           + multipart('a"b c', [(['content-disposition: form-data; '
                                   'name="d\\"x"; filename=f'], "v")]))
    c.seed("form", "unnamed", ct.encode() + b"\n"
           + multipart("XyZ", [(["Content-Type: text/plain"], "x"), plain]))
    c.seed("form", "no-blank-line",
           ct.encode() + b"\n--XyZ\r\nContent-Disposition: form-data; "
           b'name="a"\r\n--XyZ--\r\n')
    c.seed("form", "no-close", ct.encode() + b"\n--XyZ\r\n\r\nx")
    c.seed("form", "no-boundary", b"multipart/form-data\n--x\r\n")
    c.seed("form", "urlencoded",
           b"application/x-www-form-urlencoded\ndata=aGk%3D&body=a+b&&x&%zz=%4")
    c.seed("form", "not-a-form", b"application/json\n[1, 2]")
    c.seed("form", "no-type", b"no line at all")

    c.seed("vision_input", "png", b"image/png\n" + png)
    c.seed("vision_input", "raw", b"\n" + png)
    c.seed("vision_input", "json-base64",
           b'application/json\n"aGVsbG8gd29ybGQ="')
    c.seed("vision_input", "json-object",
           b'application/json\n{"data": "", "body": "aGk="}')
    c.seed("vision_input", "json-list",
           b"application/json\n[[0.1, 0.2], [0.3, 0.4]]")
    c.seed("vision_input", "json-nested-list",
           b'application/json\n{"data": [[1, 2], [3, 4]]}')
    c.seed("vision_input", "json-escapes",
           b'application/json\n"aGk\\u003d\\n"')
    c.seed("vision_input", "json-number", b"application/json\n0")
    c.seed("vision_input", "text", b"text/plain; charset=utf-8\naGVsbG8=\n")
    c.seed("vision_input", "multipart", ct.encode() + b"\n"
           + multipart("XyZ", [(['Content-Disposition: form-data; '
                                 'name="data"; filename="a.png"',
                                 "Content-Type: image/png"], "\0"),
                               plain]).replace(b"\0", png))
    c.seed("vision_input", "multipart-json", ct.encode() + b"\n"
           + multipart("XyZ", [(['Content-Disposition: form-data; '
                                 'name="data"; filename="x.json"',
                                 "Content-Type: application/json"],
                                '{"body": [1, 2]}')]))
    c.seed("vision_input", "urlencoded",
           b"application/x-www-form-urlencoded\ndata=&body=aGVs%0AbG8%3D")
    c.seed("vision_input", "empty", b"image/jpeg\n")


# --- images ---------------------------------------------------------------

def jpeg(im, **kw):
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kw)
    return buf.getvalue()


def images(c):
    rgb = photo(8, 8, 1)
    im = Image.fromarray(rgb, "RGB")
    c.seed("image", "rgb-420.jpg", jpeg(im, quality=50))
    c.seed("image", "rgb-444.jpg", jpeg(im, quality=90, subsampling=0))
    c.seed("image", "grey.jpg", jpeg(im.convert("L"), quality=50))
    c.seed("image", "cmyk.jpg", jpeg(im.convert("CMYK"), quality=50))
    c.seed("image", "progressive.jpg",
           jpeg(Image.fromarray(photo(16, 16, 2), "RGB"), quality=50,
                progressive=True))
    c.seed("image", "odd-size.jpg",
           jpeg(Image.fromarray(photo(13, 5, 3), "RGB"), quality=40))

    rng = np.random.default_rng(7)

    def samples(h, w, n, bits):
        return rng.integers(0, 2 ** bits, (h, w, n), dtype=np.int64)

    for bits in (1, 2, 4, 8, 16):
        c.seed("image", f"grey{bits}.png", write_png(samples(5, 7, 1, bits),
                                                     0, bits))
    c.seed("image", "grey2-interlaced.png",
           write_png(samples(9, 11, 1, 2), 0, 2, interlace=True))
    c.seed("image", "grey-alpha8.png", write_png(samples(4, 4, 2, 8), 4, 8))
    c.seed("image", "grey-alpha16.png", write_png(samples(4, 4, 2, 16), 4, 16))
    c.seed("image", "rgb8.png", write_png(samples(4, 5, 3, 8), 2, 8))
    c.seed("image", "rgb16-interlaced.png",
           write_png(samples(6, 6, 3, 16), 2, 16, interlace=True))
    c.seed("image", "rgba8.png", write_png(samples(3, 3, 4, 8), 6, 8,
                                           idat_split=7))
    c.seed("image", "rgba16.png", write_png(samples(3, 3, 4, 16), 6, 16))
    for bits in (1, 4, 8):
        n = 2 ** bits
        plte = bytes(rng.integers(0, 256, 3 * min(n, 5), dtype=np.uint8))
        c.seed("image", f"palette{bits}.png",
               write_png(samples(5, 5, 1, bits) % min(n, 5), 3, bits,
                         plte=plte, trns=b"\x00\x80"))
    c.seed("image", "palette-interlaced.png",
           write_png(samples(3, 2, 1, 2) % 3, 3, 2, interlace=True,
                     plte=bytes(range(9))))
    # hostile: a header claiming a huge image, a truncated file
    big = write_png(samples(1, 1, 1, 8), 0, 8)
    ihdr = struct.pack(">IIBBBBB", 70000, 70000, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    c.seed("image", "huge-header.png",
           big[:8] + struct.pack(">I", 13) + chunk
           + struct.pack(">I", zlib.crc32(chunk)) + big[33:])
    whole = write_png(samples(4, 4, 3, 8), 2, 8)
    c.seed("image", "truncated.png", whole[:len(whole) // 2])
    c.seed("image", "truncated.jpg", jpeg(im, quality=50)[:200])
    return write_png(samples(2, 2, 3, 8), 2, 8)


# --- the tensor handler and KServe ------------------------------------------

def v2(inputs, **more):
    body = {"id": "r1", "inputs": inputs}
    body.update(more)
    return json.dumps(body)


def v2_binary(inputs, blobs, **more):
    header = v2(inputs, **more).encode()
    return b"v2 %d\n" % len(header) + header + b"".join(blobs)


SEP = b"\n---\n"           # between the requests of one input (fuzz_serve.h)


def serving(c):
    c.seed("tensor", "batch", SEP.join([b"[[1, 2, 3], [4, 5, 6]]",
                                        b"[[7, 8, 9], [1, 2, 3]]", b"[1, 2]"]))
    c.seed("tensor", "named", '{"x": [1, 2], "y": [3, 4], "k": 3, '
           '"scale": 0.5, "flag": true, "name": "n", "sizes": [1, 2], '
           '"weights": [0.5, 1]}')
    c.seed("tensor", "named-unicode", '{"x": [1], "y": [2], "k": 1, '
           '"scale": 1.0, "flag": false, "name": '
           '"\\u00e9\\ud83d\\ude00\\u007f\\t\\"\\\\/\\u2028\u00e9\U0001f600"}')
    c.seed("tensor", "named-nul", '{"x": [1], "y": [2], "k": 1, '
           '"scale": 1, "flag": true, "name": "a\\u0000b"}')
    c.seed("tensor", "named-wrong", '{"x": [1, 2], "y": [3], "k": 1.5, '
           '"sizes": [1.5], "name": 3}')
    c.seed("tensor", "int-shape", b"[[1, 2, 3], [4, 5, 6]]" + SEP
           + b'{"data": [[1, 2, 3], [4, 5, 9223372036854775807]]}')
    c.seed("tensor", "bools", "[true, false, true]")
    c.seed("tensor", "empty", SEP)
    for name, body in TENSOR_BODIES.items():
        if name in ("nested", "ragged", "scalar", "string"):
            c.seed("tensor", "body-" + name, body)

    fp32 = {"name": "x", "datatype": "FP32", "shape": [2, 2],
            "data": [1, 2, 3, 4]}
    c.seed("kserve", "v1", 'v1\n{"instances": [[1, 2], [3, 4]]}')
    c.seed("kserve", "v1-named", 'v1\n{"instances": [{"x": [1], "y": [2]}, '
           '{"x": [3], "y": [4]}]}')
    c.seed("kserve", "v2-json", "v2\n" + v2([fp32]))
    c.seed("kserve", "v2-nested", "v2\n" + v2([dict(fp32,
                                                     data=[[1, 2], [3, 4]])]))
    c.seed("kserve", "v2-outputs", "v2\n" + v2(
        [fp32], outputs=[{"name": "output-0",
                          "parameters": {"binary_data": True}}],
        parameters={"target": 1}))
    c.seed("kserve", "v2-two-inputs", "v2\n" + v2(
        [dict(fp32, name="x"), dict(fp32, name="y", datatype="INT64")]))
    c.seed("kserve", "v2-types", "v2\n" + v2(
        [{"name": "x", "datatype": t, "shape": [1, 2], "data": d}
         for t, d in (("FP64", [1.5, -2]), ("FP16", [0.1, 65504]))]))
    for t, d in (("BOOL", [True, False]), ("UINT8", [0, 255]),
                 ("INT8", [-128, 127]), ("INT16", [-1, 300]),
                 ("INT32", [1, -2]), ("INT64", [[1, 2, 3], [4, 5, 6]]),
                 ("BYTES", ["a", "b"]), ("UINT32", [1, 2])):
        shape = [2, 3] if t == "INT64" else [2, 1]
        c.seed("kserve", "v2-" + t.lower(),
               "v2\n" + v2([{"name": "x", "datatype": t, "shape": shape,
                             "data": d}]))
    c.seed("kserve", "v2-binary", v2_binary(
        [{"name": "x", "datatype": "FP32", "shape": [2, 2],
          "parameters": {"binary_data_size": 16}}],
        [struct.pack("<4f", 1, 2, 3, 4)],
        parameters={"binary_data_output": True}))
    c.seed("kserve", "v2-binary-two", v2_binary(
        [{"name": "x", "datatype": "FP16", "shape": [1, 3],
          "parameters": {"binary_data_size": 6}},
         {"name": "y", "datatype": "UINT8", "shape": [1, 2],
          "parameters": {"binary_data_size": 2}}],
        [struct.pack("<3e", 1, float("inf"), float("nan")), b"\x01\x02"]))
    c.seed("kserve", "v2-binary-short", v2_binary(
        [{"name": "x", "datatype": "INT32", "shape": [3],
          "parameters": {"binary_data_size": 12}}], [b"\0" * 8]))
    c.seed("kserve", "v2-header-past-end", b"v2 99999\n{}")
    # a "data" array long enough to be cut out for the fast decoder
    big = [round(i * 0.37 - 100, 2) for i in range(1200)]
    c.seed("kserve", "v2-big", "v2\n" + v2([{"name": "x", "datatype": "FP32",
                                             "shape": [2, 600], "data": big}]))
    c.seed("kserve", "v2-big-int", "v2\n" + v2(
        [{"name": "x", "datatype": "INT64", "shape": [1200],
          "data": [i * 7 - 3000 for i in range(1200)]}]))
    c.seed("kserve", "v2-shaped", "v2\n" + v2(
        [{"name": "x", "datatype": "INT64", "shape": [2, 2, 3],
          "data": list(range(12))}]))
    c.seed("kserve", "mixed-batch", SEP.join([
        b'v1\n{"instances": [[1, 2]]}',
        b"v2\n" + v2([dict(fp32, shape=[1, 2], data=[5, 6])]).encode(),
        b"[3, 4]", b"v2 2\n{}"]))
    c.seed("kserve", "errors", SEP.join([
        b"v2\n[]", b'v2\n{"inputs": []}', b"v1\n{}",
        b'v2\n{"inputs": [{"name": "x"}]}']))


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        TOP, "fuzz", "corpus")
    c = Corpus(folder)
    archives(c)
    manifests(c)
    model_configs(c)
    tensors(c)
    base64s(c)
    png = images(c)
    forms(c, png)
    serving(c)


if __name__ == "__main__":
    main()
