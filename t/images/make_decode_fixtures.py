#!/usr/bin/python3
"""The image decoder's fixtures: images in the forms clients send, hostile
ones, and what Debian's Pillow 9.4 gives for each.

    /usr/bin/python3 t/images/make_decode_fixtures.py FIXTURES_DIR ARCHIVE_TOOL

Writes FIXTURES_DIR/images/:
  NAME.jpg / NAME.png / ...    the inputs
  NAME.rgb, NAME.l             Image.open(f).convert("RGB") / ("L") as raw
                               bytes (rows of width * 3 or width bytes);
                               for the largest images only their CRC-32 is
                               kept, in the index
  decode.json                  the index: per file its name, format, size,
                               the references, and for the hostile ones the
                               error our decoder gives (a substring) and what
                               Pillow did with the same bytes

Pillow writes what it can (JPEG in every form it has, 8-bit PNGs, palettes,
GIF, BMP, TIFF, WebP); the PNG forms Pillow cannot write (2- and 4-bit grey,
16-bit colour and grey+alpha, Adam7 interlacing, filters of every type) come
from the small writer below.  Deterministic: fixed seeds, no timestamps.
"""

import io
import json
import os
import struct
import sys
import warnings
import zlib

import numpy as np
from PIL import Image

# the references are the decoder's contract: refuse to make them elsewhere
assert Image.__version__ == "9.4.0", Image.__version__

BIG_PIXELS = 1_000_000      # above it: references as CRC-32 only

# convert("RGB") of a palette with per-entry alphas warns; it is what we test
warnings.filterwarnings("ignore", "Palette images with Transparency")


# --- pictures ----------------------------------------------------------------

def photo(w, h, seed):
    """Smooth gradients, a few soft blobs, an edge and noise: what resizing
    and chroma subsampling have to get right."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    fx = xx / max(w - 1, 1)
    fy = yy / max(h - 1, 1)
    ph = rng.uniform(0, 2 * np.pi, 3)
    r = 128 + 100 * np.sin(2 * np.pi * (1.5 * fx + 0.3 * fy) + ph[0])
    g = 40 + 180 * fy + 30 * np.cos(2 * np.pi * 3 * fx + ph[1])
    b = 200 * (1 - fx) + 40 * np.sin(2 * np.pi * 2 * fy + ph[2])
    img = np.stack([r, g, b], axis=-1)
    for _ in range(4):
        cx, cy = rng.uniform(0, 1, 2)
        rad = rng.uniform(0.05, 0.25)
        col = rng.uniform(0, 255, 3)
        d2 = ((fx - cx) ** 2 + (fy - cy) ** 2) / rad ** 2
        wgt = np.exp(-d2)[..., None]
        img = img * (1 - wgt) + col * wgt
    img[(fx > 0.6) & (fx < 0.62)] = [250, 250, 250]      # a sharp edge
    img += rng.normal(0, 8, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def photo_image(w, h, seed):
    return Image.fromarray(photo(w, h, seed), "RGB")


# --- a PNG writer for the forms Pillow does not write ------------------------

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
         (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def png_chunk(ctype, data):
    return (struct.pack(">I", len(data)) + ctype + data
            + struct.pack(">I", zlib.crc32(ctype + data) & 0xFFFFFFFF))


def pack_rows(samples, bit_depth):
    """(h, w, n) integer samples -> list of packed row bytes."""
    h = samples.shape[0]
    flat = samples.reshape(h, -1)
    rows = []
    for y in range(h):
        row = flat[y]
        if bit_depth == 16:
            rows.append(row.astype(">u2").tobytes())
        elif bit_depth == 8:
            rows.append(row.astype(np.uint8).tobytes())
        else:
            per = 8 // bit_depth
            pad = (-len(row)) % per
            r = np.concatenate([row, np.zeros(pad, row.dtype)]).astype(np.uint8)
            r = r.reshape(-1, per)
            byte = np.zeros(r.shape[0], np.uint32)
            for i in range(per):
                byte |= r[:, i].astype(np.uint32) << (8 - bit_depth * (i + 1))
            rows.append(byte.astype(np.uint8).tobytes())
    return rows


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_rows(rows, bpp, first_filter):
    """Each row with a filter byte; the filter type cycles over 0..4."""
    out = []
    prior = bytes(len(rows[0])) if rows else b""
    for i, raw in enumerate(rows):
        ft = (first_filter + i) % 5
        f = bytearray(len(raw))
        for x in range(len(raw)):
            a = raw[x - bpp] if x >= bpp else 0
            b = prior[x]
            c = prior[x - bpp] if x >= bpp else 0
            if ft == 0:
                p = 0
            elif ft == 1:
                p = a
            elif ft == 2:
                p = b
            elif ft == 3:
                p = (a + b) // 2
            else:
                p = paeth(a, b, c)
            f[x] = (raw[x] - p) & 0xFF
        out.append(bytes([ft]) + bytes(f))
        prior = raw
    return b"".join(out)


def write_png(samples, color_type, bit_depth, interlace=False, plte=None,
              trns=None, idat_split=None):
    """samples: (h, w, n) array of integers below 2 ** bit_depth."""
    h, w, n = samples.shape
    bpp = max(1, n * bit_depth // 8)
    if interlace:
        raw = b""
        for p, (x0, y0, dx, dy) in enumerate(ADAM7):
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += filter_rows(pack_rows(sub, bit_depth), bpp, p)
    else:
        raw = filter_rows(pack_rows(samples, bit_depth), bpp, 0)
    comp = zlib.compress(raw, 9)
    out = b"\x89PNG\r\n\x1a\n"
    out += png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth,
                                          color_type, 0, 0, int(interlace)))
    out += png_chunk(b"gAMA", struct.pack(">I", 45455))    # Pillow ignores it
    if plte is not None:
        out += png_chunk(b"PLTE", bytes(plte))
    if trns is not None:
        out += png_chunk(b"tRNS", bytes(trns))
    step = idat_split or len(comp)
    for i in range(0, len(comp), step):
        out += png_chunk(b"IDAT", comp[i:i + step])
    out += png_chunk(b"IEND", b"")
    return out


# --- the fixtures ------------------------------------------------------------

class Fixtures:

    def __init__(self, folder):
        self.folder = folder
        self.index = []
        os.makedirs(folder, exist_ok=True)

    def save(self, name, data):
        with open(os.path.join(self.folder, name), "wb") as f:
            f.write(data)

    def pillow(self, name):
        """What Pillow 9.4 makes of the file: (format, rgb, l) or the error."""
        path = os.path.join(self.folder, name)
        try:
            with Image.open(path) as im:
                fmt = im.format
                rgb = im.convert("RGB")
            with Image.open(path) as im:
                lum = im.convert("L")
            return fmt, rgb, lum, None
        except Exception as e:                  # noqa: BLE001 (any refusal)
            return None, None, None, f"{type(e).__name__}: {e}"

    def image(self, name, data, note=""):
        """A file we decode as Pillow does: its references."""
        self.save(name, data)
        fmt, rgb, lum, err = self.pillow(name)
        if err is not None:
            raise SystemExit(f"{name}: Pillow cannot read it: {err}")
        stem = os.path.splitext(name)[0]
        entry = {"file": name, "format": fmt, "width": rgb.width,
                 "height": rgb.height, "note": note}
        rgb_bytes, l_bytes = rgb.tobytes(), lum.tobytes()
        if rgb.width * rgb.height > BIG_PIXELS:
            entry["rgb_crc32"] = zlib.crc32(rgb_bytes) & 0xFFFFFFFF
            entry["l_crc32"] = zlib.crc32(l_bytes) & 0xFFFFFFFF
        else:
            self.save(stem + ".rgb", rgb_bytes)
            self.save(stem + ".l", l_bytes)
            entry["rgb"] = stem + ".rgb"
            entry["l"] = stem + ".l"
        self.index.append(entry)

    def hostile(self, name, data, error, fmt, note=""):
        """A file we refuse with a message containing error; what Pillow
        says of it is kept beside, for the record."""
        self.save(name, data)
        _, rgb, _, err = self.pillow(name)
        self.index.append({"file": name, "format": fmt, "error": error,
                           "pillow": err if err is not None else
                           f"decodes it ({rgb.width}x{rgb.height})",
                           "note": note})

    def write_index(self):
        with open(os.path.join(self.folder, "decode.json"), "w") as f:
            json.dump({"pillow": Image.__version__, "images": self.index},
                      f, indent=1, sort_keys=True)
            f.write("\n")


def encode(im, fmt, **kw):
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def jpeg_segment(data, marker):
    """Offset of the first segment with this marker (0xC0: SOF0...)."""
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ValueError("not at a marker")
        m = data[i + 1]
        if m == marker:
            return i
        if m == 0xDA:
            break
        i += 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
    raise ValueError(f"no marker {marker:#x}")


def jpeg_scan_start(data):
    i = jpeg_segment(data, 0xDA)
    return i + 2 + struct.unpack(">H", data[i + 2:i + 4])[0]


def jpegs(fx):
    base = photo_image(333, 250, 1)
    fx.image("jpeg_333x250.jpg", encode(base, "JPEG", quality=90),
             "baseline, 4:2:0 (Pillow's default)")
    fx.image("jpeg_640x480.jpg",
             encode(photo_image(640, 480, 2), "JPEG", quality=85))
    fx.image("jpeg_1920x1080.jpg",
             encode(photo_image(1920, 1080, 3), "JPEG", quality=85))
    fx.image("jpeg_1x1.jpg", encode(photo_image(1, 1, 4), "JPEG"))
    fx.image("jpeg_4000x10.jpg", encode(photo_image(4000, 10, 5), "JPEG"))

    odd = photo_image(227, 149, 6)          # partial MCUs on both sides
    fx.image("jpeg_444.jpg", encode(odd, "JPEG", quality=92, subsampling=0),
             "4:4:4")
    fx.image("jpeg_422.jpg", encode(odd, "JPEG", quality=92, subsampling=1),
             "4:2:2")
    fx.image("jpeg_420.jpg", encode(odd, "JPEG", quality=92, subsampling=2),
             "4:2:0")
    fx.image("jpeg_progressive.jpg",
             encode(odd, "JPEG", quality=88, progressive=True),
             "progressive")
    fx.image("jpeg_optimized.jpg", encode(odd, "JPEG", optimize=True),
             "optimized Huffman tables")
    fx.image("jpeg_grey.jpg", encode(odd.convert("L"), "JPEG", quality=90),
             "one component: mode L")
    fx.image("jpeg_grey_progressive.jpg",
             encode(odd.convert("L"), "JPEG", progressive=True),
             "one component, progressive")

    cmyk = encode(odd.convert("CMYK"), "JPEG", quality=90)
    fx.image("jpeg_cmyk.jpg", cmyk,
             "CMYK, Adobe marker (transform 0): read as CMYK;I, cmyk2rgb")
    # the same data relabelled YCCK (Adobe transform 2): libjpeg turns it
    # into CMYK, then Pillow's steps as above; Pillow cannot write YCCK
    i = jpeg_segment(cmyk, 0xEE)
    assert cmyk[i + 4:i + 9] == b"Adobe" and cmyk[i + 15] == 0
    ycck = cmyk[:i + 15] + b"\x02" + cmyk[i + 16:]
    fx.image("jpeg_ycck.jpg", ycck, "4 components, Adobe transform 2 (YCCK)")
    fx.image("jpeg_cmyk_progressive.jpg",
             encode(odd.convert("CMYK"), "JPEG", progressive=True),
             "CMYK, progressive")

    # Adobe transform 0 on three components: libjpeg takes them as RGB,
    # not YCbCr, and converts nothing
    adobe = b"\xff\xee\x00\x0eAdobe\x00\x64\x00\x00\x00\x00\x00"
    ycc = encode(odd, "JPEG", quality=90, subsampling=0)
    fx.image("jpeg_adobe_rgb.jpg", ycc[:2] + adobe + ycc[2:],
             "3 components marked RGB by an Adobe segment")
    # four components without an Adobe segment: libjpeg says CMYK, and
    # Pillow still inverts them (CMYK;I)
    fx.image("jpeg_cmyk_no_adobe.jpg",
             cmyk[:i] + cmyk[i + 2 + struct.unpack(">H",
                                                   cmyk[i + 2:i + 4])[0]:],
             "CMYK, no Adobe segment")

    exif = Image.Exif()
    exif[0x0112] = 6                        # rotate 90 CW to view
    fx.image("jpeg_exif_rotated.jpg",
             encode(photo_image(120, 80, 7), "JPEG", exif=exif.tobytes()),
             "EXIF orientation 6: Image.open() does not apply it")

    # corrupt entropy-coded bytes that libjpeg gets past with a warning:
    # Pillow ignores the warning and returns the damaged pixels, so do we
    good = encode(photo_image(160, 120, 8), "JPEG", quality=90)
    s = jpeg_scan_start(good)
    bad = bytearray(good)
    for k in range(40):
        j = s + (len(good) - s) // 3 + 7 * k
        if bad[j] != 0xFF and bad[j - 1] != 0xFF:
            bad[j] ^= 0x5A
    fx.image("jpeg_corrupt_scan.jpg", bytes(bad),
             "scan bytes flipped: libjpeg warns, Pillow decodes the damage")

    # no EOI: libjpeg's bit reader wants bytes past the last MCU, so
    # Pillow's decoder suspends before the last rows and finds no more
    fx.hostile("jpeg_no_eoi.jpg", good[:-2],
               "JPEG: premature end of data (truncated image)", "JPEG",
               "EOI marker missing: Pillow says truncated too")

    # hostile
    fx.hostile("jpeg_truncated.jpg", good[:len(good) * 6 // 10],
               "JPEG: premature end of data (truncated image)", "JPEG")
    fx.hostile("jpeg_truncated_header.jpg", good[:100],
               "JPEG: premature end of data (truncated image)", "JPEG")
    fx.hostile("jpeg_truncated_progressive.jpg",
               encode(odd, "JPEG", progressive=True)[:3000],
               "JPEG: premature end of data (truncated image)", "JPEG")
    # one progressive scan again and again (libjpeg only warns of a bogus
    # progression): each is a pass over the image, a small file's CPU bomb
    prog = encode(photo_image(48, 32, 9), "JPEG", progressive=True)
    last = prog.rindex(b"\xff\xda")
    fx.hostile("jpeg_many_scans.jpg",
               prog[:last] + prog[last:-2] * 600 + prog[-2:],
               "JPEG: more than 500 scans", "JPEG",
               "600 repeats of the last scan")
    sof = jpeg_segment(good, 0xC0)
    bomb = bytearray(good)
    bomb[sof + 5:sof + 9] = struct.pack(">HH", 65000, 65000)
    fx.hostile("jpeg_bomb.jpg", bytes(bomb[:sof + 600]),
               "image of 65000x65000 pixels exceeds the limit of "
               "89478485 pixels", "JPEG", "a tiny file with a huge canvas")
    hdr = bytearray(good)
    dqt = jpeg_segment(good, 0xDB)
    hdr[dqt + 2:dqt + 4] = b"\x00\x01"       # a marker length below 2
    fx.hostile("jpeg_bad_marker.jpg", bytes(hdr),
               "JPEG: corrupt or unsupported image", "JPEG",
               "a DQT segment of length 1")
    twelve = bytearray(good)
    twelve[sof + 4] = 12
    fx.hostile("jpeg_12bit.jpg", bytes(twelve),
               "JPEG: corrupt or unsupported image", "JPEG",
               "12-bit samples")


def pngs(fx):
    rgb = photo(97, 61, 10)                  # odd: partial bytes, passes
    grey = np.asarray(Image.fromarray(rgb).convert("L"))
    rng = np.random.default_rng(11)
    alpha = rng.integers(0, 256, grey.shape, dtype=np.uint8)
    alpha[:, :10] = 0                        # transparent: no compositing

    fx.image("png_rgb.png", encode(Image.fromarray(rgb), "PNG"), "8-bit RGB")
    rgba = np.dstack([rgb, alpha])
    fx.image("png_rgba.png", encode(Image.fromarray(rgba, "RGBA"), "PNG"),
             "8-bit RGBA: alpha dropped")
    fx.image("png_la.png",
             encode(Image.fromarray(np.dstack([grey, alpha]), "LA"), "PNG"),
             "8-bit grey+alpha")
    fx.image("png_l8.png", encode(Image.fromarray(grey), "PNG"), "8-bit grey")
    fx.image("png_l1.png", encode(Image.fromarray(grey).convert("1"), "PNG"),
             "1-bit grey: mode 1")
    fx.image("png_l2.png", write_png((grey >> 6)[..., None], 0, 2),
             "2-bit grey: L;2")
    fx.image("png_l4.png", write_png((grey >> 4)[..., None], 0, 4),
             "4-bit grey: L;4")
    g16 = grey.astype(np.uint32) * 257
    g16[:20] = np.arange(97)[None, :] * 7     # values below 256 survive
    fx.image("png_l16.png", write_png(g16[..., None], 0, 16),
             "16-bit grey: mode I, clipped to 255")
    fx.image("png_l16_pillow.png",
             encode(Image.fromarray(g16.astype(np.uint16), "I;16"), "PNG"),
             "16-bit grey written by Pillow")
    rgb16 = rgb.astype(np.uint32) * 256 + rng.integers(0, 256, rgb.shape)
    fx.image("png_rgb16.png", write_png(rgb16, 2, 16),
             "16-bit RGB: high bytes")
    a16 = alpha.astype(np.uint32) * 257
    fx.image("png_rgba16.png", write_png(np.dstack([rgb16, a16]), 6, 16),
             "16-bit RGBA")
    fx.image("png_la16.png",
             write_png(np.dstack([grey.astype(np.uint32) * 256 + 99, a16]),
                       4, 16),
             "16-bit grey+alpha: RGBA from LA;16B")

    pal = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE,
                                       colors=200)
    fx.image("png_palette.png", encode(pal, "PNG"), "8-bit palette")
    fx.image("png_palette_trns.png", encode(pal, "PNG", transparency=3),
             "palette, one transparent entry")
    trns = bytes(rng.integers(0, 256, 200, dtype=np.uint8))
    fx.image("png_palette_trns_bytes.png",
             encode(pal, "PNG", transparency=trns),
             "palette, an alpha per entry")
    p16 = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE,
                                       colors=12)
    fx.image("png_palette4.png", encode(p16, "PNG", bits=4), "4-bit palette")
    idx = (grey >> 4)[..., None]
    fx.image("png_palette_short.png",
             write_png(idx, 3, 4, plte=[10, 20, 30, 200, 100, 50, 0, 0, 255]),
             "indices past PLTE's 3 entries: Pillow's grey ramp")
    fx.image("png_palette2_interlaced.png",
             write_png((grey >> 6)[..., None], 3, 2, interlace=True,
                       plte=[0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]),
             "2-bit palette, Adam7")
    fx.image("png_rgb_trns.png",
             encode(Image.fromarray(rgb), "PNG", transparency=(1, 2, 3)),
             "RGB with tRNS: ignored by convert")
    fx.image("png_interlaced.png", write_png(rgb, 2, 8, interlace=True),
             "8-bit RGB, Adam7")
    fx.image("png_l1_interlaced.png",
             write_png((grey >> 7)[..., None], 0, 1, interlace=True),
             "1-bit grey, Adam7")
    fx.image("png_l4_interlaced.png",
             write_png((grey >> 4)[..., None], 0, 4, interlace=True),
             "4-bit grey, Adam7")
    fx.image("png_rgba16_interlaced.png",
             write_png(np.dstack([rgb16, a16]), 6, 16, interlace=True),
             "16-bit RGBA, Adam7")
    tiny = photo(3, 2, 12)
    fx.image("png_3x2_interlaced.png", write_png(tiny, 2, 8, interlace=True),
             "smaller than the first passes")
    big = photo(640, 480, 13)
    fx.image("png_640x480.png", encode(Image.fromarray(big), "PNG"),
             "several IDAT chunks")

    # hostile
    good = write_png(rgb, 2, 8, idat_split=4096)
    fx.hostile("png_truncated.png", good[:len(good) * 6 // 10],
               "PNG: premature end of data (truncated image)", "PNG")
    fx.hostile("png_truncated_header.png", good[:20],
               "PNG: premature end of data (truncated image)", "PNG")
    no_iend = good[:-12]
    fx.image("png_no_iend.png", no_iend, "IEND missing")
    first_idat = good.index(b"IDAT") - 4
    bad = bytearray(good)
    bad[first_idat + 8 + 4096 + 1] ^= 0xFF          # the first IDAT's CRC
    fx.hostile("png_bad_crc_idat.png", bytes(bad),
               "PNG: CRC error in chunk IDAT", "PNG",
               "Pillow 9.4 does not check IDAT's CRC (ChunkStream.crc runs "
               "on the chunks before it): we refuse, as libspng does")
    bad = bytearray(good)
    gama = good.index(b"gAMA") - 4
    bad[gama + 8 + 4 + 2] ^= 0xFF
    fx.hostile("png_bad_crc_gama.png", bytes(bad),
               "PNG: CRC error in chunk gAMA", "PNG",
               "an ancillary chunk before IDAT: Pillow refuses it too")
    bad = bytearray(good)
    bad[first_idat + 8 + 2000:first_idat + 8 + 2040] = bytes(40)
    body = bytes(bad[first_idat + 4:first_idat + 8 + 4096])
    bad[first_idat + 8 + 4096:first_idat + 12 + 4096] = struct.pack(
        ">I", zlib.crc32(body) & 0xFFFFFFFF)
    fx.hostile("png_corrupt_idat.png", bytes(bad),
               "PNG: corrupt or unsupported image", "PNG",
               "zeroed deflate bytes, the CRC made right")
    ztxt = png_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(bytes(2 << 20)))
    fx.hostile("png_ztxt_bomb.png", good[:33] + ztxt + good[33:],
               "PNG: metadata chunks past the limits", "PNG",
               "a zTXt chunk of 2 KB inflating to 2 MB; Pillow stops at 1 MB")
    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    huge = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IDAT", zlib.compress(b"\0" * 1000))
            + png_chunk(b"IEND", b""))
    fx.hostile("png_bomb.png", huge,
               "image of 100000x100000 pixels exceeds the limit of "
               "89478485 pixels", "PNG", "a header claiming 10^10 pixels")
    ihdr = struct.pack(">IIBBBBB", 2000000000, 1, 8, 0, 0, 0, 0)
    wide = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IEND", b""))
    fx.hostile("png_wide.png", wide,
               "image of 2000000000x1 pixels exceeds the limit of "
               "89478485 pixels", "PNG", "one side past the limit")


def others(fx):
    im = photo_image(64, 48, 20)
    fx.hostile("empty.jpg", b"", "empty image data", None)
    fx.hostile("image.gif", encode(im, "GIF"),
               "GIF images are not supported: send JPEG or PNG", "GIF")
    fx.hostile("image.bmp", encode(im, "BMP"),
               "BMP images are not supported: send JPEG or PNG", "BMP")
    fx.hostile("image.tiff", encode(im, "TIFF"),
               "TIFF images are not supported: send JPEG or PNG", "TIFF")
    fx.hostile("image.webp", encode(im, "WEBP"),
               "WebP images are not supported: send JPEG or PNG", "WebP")
    fx.hostile("image.ico", encode(im, "ICO"),
               "ICO images are not supported: send JPEG or PNG", "ICO")
    fx.hostile("garbage.bin", bytes(range(256)) * 4,
               "unknown image format", None)


def main():
    fx = Fixtures(os.path.join(sys.argv[1], "images"))
    jpegs(fx)
    pngs(fx)
    others(fx)
    fx.write_index()
    total = sum(os.path.getsize(os.path.join(fx.folder, f))
                for f in os.listdir(fx.folder))
    print(f"images: {len(fx.index)} fixtures, {total / 1e6:.1f} MB "
          f"in {fx.folder}")


if __name__ == "__main__":
    main()
