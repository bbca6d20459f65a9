"""The archives t/python/make_python_fixtures.py packs, unpacked and
loaded through ts._embed side by side, answer exactly (byte for byte) what
its python_expected.json says, which it computed without our ts package."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest
import zipfile

import torch

from ts import _embed

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))))
SCRIPT = os.path.join(REPO, "t", "python", "make_python_fixtures.py")
ARCHIVE_TOOL = os.path.join(REPO, "build", "archive_tool")


def fixture_dir(scratch):
    """$TS_PYTHON_FIXTURES, or fixtures made now into scratch, or None."""
    given = os.environ.get("TS_PYTHON_FIXTURES")
    if given:
        return given
    if not os.access(ARCHIVE_TOOL, os.X_OK):
        return None
    subprocess.run(["/usr/bin/python3", SCRIPT, scratch, ARCHIVE_TOOL],
                   check=True, stdout=subprocess.DEVNULL)
    return scratch


def unpack(archive, into):
    with zipfile.ZipFile(archive) as mar:
        mar.extractall(into)
    return into


class PackedArchives(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # the expected answers were computed with one intra-op thread
        cls.threads = torch.get_num_threads()
        torch.set_num_threads(1)
        cls.scratch = tempfile.mkdtemp(prefix="ts-pyfx-")
        cls.fixtures = fixture_dir(os.path.join(cls.scratch, "fixtures"))
        if cls.fixtures is None:
            raise unittest.SkipTest("no fixtures: set TS_PYTHON_FIXTURES "
                                    "or make build/archive_tool")
        with open(os.path.join(cls.fixtures, "python_expected.json")) as f:
            cls.expected = json.load(f)
        cls.services = {}

    @classmethod
    def tearDownClass(cls):
        for service in cls.services.values():
            service.close()
        shutil.rmtree(cls.scratch, ignore_errors=True)
        torch.set_num_threads(cls.threads)

    def load(self, flow):
        entry = self.expected[flow]
        model_dir = unpack(os.path.join(self.fixtures, entry["archive"]),
                           os.path.join(self.scratch, "models", flow))
        with open(os.path.join(model_dir, "MAR-INF", "MANIFEST.json")) as f:
            self.assertEqual(json.load(f)["model"]["handler"],
                             entry["handler"])
        return _embed.load(model_dir, entry["handler"], 1, 1, None,
                           entry["model_name"], "1.0")

    def request(self, flow):
        entry = self.expected[flow]
        with open(os.path.join(self.fixtures, entry["input"]), "rb") as f:
            body = f.read()
        headers = [("Content-Type", entry["request_content_type"])]
        return ("req-" + flow, body, headers, False, "")

    def flows(self, predicate):
        return sorted(flow for flow, entry in self.expected.items()
                      if predicate(entry))

    def test_answers_side_by_side(self):
        flows = self.flows(lambda entry: "body" in entry)
        self.assertIn("iso_a", flows)
        self.assertIn("iso_b", flows)
        for flow in flows:  # every archive loaded before any is asked
            self.services[flow] = self.load(flow)
        for flow in flows:
            with self.subTest(flow=flow):
                entry = self.expected[flow]
                got = self.services[flow].handle([self.request(flow)])[0]
                self.assertEqual(got, (
                    entry["status"], entry["phrase"],
                    entry["body"].encode("utf-8"),
                    entry["response_content_type"],
                    [tuple(h) for h in entry["headers"]]))

    def test_failed_batches(self):
        for flow in self.flows(lambda entry: "message" in entry):
            with self.subTest(flow=flow):
                entry = self.expected[flow]
                service = self.services[flow] = self.load(flow)
                with self.assertRaises(_embed.BatchError) as caught:
                    service.handle([self.request(flow)])
                self.assertEqual((caught.exception.code,
                                  caught.exception.message),
                                 (entry["status"], entry["message"]))

    def test_failed_loads(self):
        for flow in self.flows(lambda entry: "load_error" in entry):
            with self.subTest(flow=flow):
                with self.assertRaises(_embed.LoadError) as caught:
                    self.load(flow)
                self.assertEqual(caught.exception.message,
                                 self.expected[flow]["load_error"])
