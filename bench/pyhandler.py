"""Shared by py_flask_handler.py and py_fastapi_handler.py: the archive
$BENCH_MAR (a Python handler, e.g. build/fixtures/mnist.mar) served through
our ts package's glue, as the module's worker processes serve it: unpacked
(zipfile) into a private temporary folder, loaded once per worker process
with ts._embed.load(dir, handler, 1, 1, None, name, version), one intra-op
thread, then one service.handle() per request."""
import atexit
import json
import os
import shutil
import sys
import tempfile
import uuid
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "runtime", "python"))

import torch  # noqa: E402

torch.set_num_threads(1)
import ts._embed  # noqa: E402

MODEL_DIR = tempfile.mkdtemp(prefix="bench-pyhandler.")
atexit.register(shutil.rmtree, MODEL_DIR, True)
with zipfile.ZipFile(os.environ["BENCH_MAR"]) as z:
    z.extractall(MODEL_DIR)
with open(os.path.join(MODEL_DIR, "MAR-INF", "MANIFEST.json")) as f:
    _model = json.load(f)["model"]
NAME = _model["modelName"]
SERVICE = ts._embed.load(MODEL_DIR, _model["handler"], 1, 1, None, NAME,
                         _model.get("modelVersion") or "1.0")


def predict(body, headers, path):
    """(status, body, content type) of one request; headers: [(name,
    value)] as the request has them"""
    try:
        status, _phrase, answer, ctype, _headers = SERVICE.handle(
            [(str(uuid.uuid4()), body, headers, False, path)])[0]
    except ts._embed.BatchError as e:
        return e.code, json.dumps({"code": e.code, "message": e.message}), \
            "application/json"
    return status, answer, ctype
