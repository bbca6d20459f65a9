"""Describes a model archive as JSON on stdout, read with Python's own
zipfile and tarfile (the modules upstream's torch-model-archiver writes
with), so cli.t checks archive_tool's output with another reader than
ours.

    python3 inspect_archive.py PATH

{"kind": "zip"|"tgz"|"dir",
 "entries": [{"name", "size", "sha256", "method" (zip), "dir" (bool),
              "utf8" (zip), "type" (tar), "mode"}...],   # in archive order
 "manifest": "<text of MAR-INF/MANIFEST.json>" or null}
"""

import hashlib
import json
import os
import sys
import tarfile
import zipfile


def digest(data):
    return hashlib.sha256(data).hexdigest()


def describe_zip(path):
    entries, manifest = [], None
    with zipfile.ZipFile(path) as z:
        bad = z.testzip()
        if bad is not None:
            raise SystemExit(f"bad CRC in {bad}")
        for info in z.infolist():
            data = b"" if info.is_dir() else z.read(info)
            entries.append({
                "name": info.filename,
                "size": len(data),
                "sha256": digest(data),
                "method": {zipfile.ZIP_STORED: "stored",
                           zipfile.ZIP_DEFLATED: "deflated"}.get(
                               info.compress_type, str(info.compress_type)),
                "dir": info.is_dir(),
                "utf8": bool(info.flag_bits & 0x800),
                "mode": (info.external_attr >> 16) & 0o7777,
            })
            if info.filename == "MAR-INF/MANIFEST.json":
                manifest = data.decode("utf-8")
    return {"kind": "zip", "entries": entries, "manifest": manifest}


def describe_tgz(path):
    entries, manifest = [], None
    with tarfile.open(path, "r:gz") as t:
        for m in t.getmembers():
            data = t.extractfile(m).read() if m.isfile() else b""
            entries.append({
                "name": m.name,
                "size": len(data),
                "sha256": digest(data),
                "type": "file" if m.isfile() else
                        "dir" if m.isdir() else "other",
                "dir": m.isdir(),
                "mode": m.mode,
                "mtime": m.mtime,
            })
            if m.name.endswith("/MAR-INF/MANIFEST.json"):
                manifest = data.decode("utf-8")
    return {"kind": "tgz", "entries": entries, "manifest": manifest}


def describe_dir(path):
    entries, manifest = [], None
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(root, f)
            name = os.path.relpath(p, path)
            with open(p, "rb") as fh:
                data = fh.read()
            st = os.lstat(p)
            entries.append({
                "name": name,
                "size": len(data),
                "sha256": digest(data),
                "dir": False,
                "link": os.path.islink(p),
                "mode": st.st_mode & 0o7777,
            })
            if name == "MAR-INF/MANIFEST.json":
                manifest = data.decode("utf-8")
    return {"kind": "dir", "entries": entries, "manifest": manifest}


def main():
    path = sys.argv[1]
    if os.path.isdir(path):
        out = describe_dir(path)
    elif zipfile.is_zipfile(path):
        out = describe_zip(path)
    else:
        out = describe_tgz(path)
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
