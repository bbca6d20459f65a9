"""Small model directories (an unpacked archive: MAR-INF/MANIFEST.json plus
files) written into temporary folders, and request tuples as the C side
passes them to Service.handle."""

import json
import os
import shutil
import tempfile
import textwrap
import unittest

from ts import _embed


def write_model_dir(files, handler, model_name="m", model_file=None,
                    serialized_file=None, **model_fields):
    """A temporary model dir with files {relative path: str or bytes}; str
    contents are dedented. Returns its path."""
    root = tempfile.mkdtemp(prefix="ts-test-")
    for path, content in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if isinstance(content, str):
            content = textwrap.dedent(content).encode("utf-8")
        with open(full, "wb") as f:
            f.write(content)
    model = {"modelName": model_name, "handler": handler,
             "modelVersion": "1.0"}
    if model_file:
        model["modelFile"] = model_file
    if serialized_file:
        model["serializedFile"] = serialized_file
    model.update(model_fields)
    os.makedirs(os.path.join(root, "MAR-INF"))
    with open(os.path.join(root, "MAR-INF", "MANIFEST.json"), "w") as f:
        json.dump({"runtime": "python", "model": model,
                   "archiverVersion": "0.12.0"}, f, indent=2)
    return root


def request(body=b"", content_type=None, headers=(), request_id="r0",
            explain=False, url_path=""):
    all_headers = list(headers)
    if content_type is not None:
        all_headers.insert(0, ("Content-Type", content_type))
    return (request_id, body, all_headers, explain, url_path)


def json_request(value, **kwargs):
    return request(json.dumps(value).encode(), "application/json", **kwargs)


class ModelDirTest(unittest.TestCase):
    """Removes the model dirs it made and closes the services it loaded."""

    def setUp(self):
        self._services = []
        self._dirs = []

    def tearDown(self):
        for service in self._services:
            service.close()
        for path in self._dirs:
            shutil.rmtree(path, ignore_errors=True)

    def model_dir(self, files, handler, **kwargs):
        path = write_model_dir(files, handler, **kwargs)
        self._dirs.append(path)
        return path

    def load(self, model_dir, handler=None, workers=1, batch_size=1,
             gpu_id=None, model_name="m", model_version="1.0"):
        if handler is None:
            with open(os.path.join(model_dir, "MAR-INF",
                                   "MANIFEST.json")) as f:
                handler = json.load(f)["model"]["handler"]
        service = _embed.load(model_dir, handler, workers, batch_size,
                              gpu_id, model_name, model_version)
        self._services.append(service)
        return service

    def load_files(self, files, handler="handler.py", **kwargs):
        load_args = {key: kwargs.pop(key) for key in
                     ("workers", "batch_size", "gpu_id") if key in kwargs}
        return self.load(self.model_dir(files, handler, **kwargs),
                         handler, **load_args)
