"""Service.resize: instances added (each loaded and initialized) and
retired, free ones at once, busy ones when their batch returns."""

import os
import tempfile
import threading
import unittest

import ts
from ts import _embed

STARTED, RELEASE = threading.Event(), threading.Event()
ts._resize_test_events = (STARTED, RELEASE)

HANDLER = '''
import ts
STARTED, RELEASE = ts._resize_test_events   # shared by every copy
class H:
    def initialize(self, context):
        self.context = context
    def handle(self, data, context):
        if data and data[0].get("body") == b"wait":
            STARTED.set()
            RELEASE.wait(10)
        return [str(id(self)) for _ in data]
'''


def _archive(tmp):
    os.makedirs(os.path.join(tmp, "MAR-INF"))
    with open(os.path.join(tmp, "MAR-INF", "MANIFEST.json"), "w") as f:
        f.write('{"runtime": "python", "model": {"modelName": "r", '
                '"handler": "h.py", "modelVersion": "1.0"}}')
    with open(os.path.join(tmp, "h.py"), "w") as f:
        f.write(HANDLER)


def _call(svc, body=b"x"):
    return svc.handle([("id", body, [], False, "/predictions/r")])[0][2]


class ResizeTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        _archive(self.tmp.name)
        self.svc = _embed.load(self.tmp.name, "h.py", 1, 1, None, "r", "1.0")

    def tearDown(self):
        self.svc.close()
        self.tmp.cleanup()

    def test_grow_and_shrink(self):
        self.assertEqual(self.svc.resize(3), 3)
        self.assertEqual(len(self.svc.instances), 3)
        seen = set()
        for _ in range(10):
            seen.add(_call(self.svc))
        self.assertGreaterEqual(len(seen), 1)
        self.assertEqual(self.svc.resize(1), 1)
        self.assertEqual(len(self.svc.instances), 1)
        self.assertEqual(_call(self.svc), _call(self.svc))

    def test_free_instances_retire_first(self):
        self.svc.resize(2)
        t = threading.Thread(target=_call, args=(self.svc, b"wait"))
        t.start()
        self.assertTrue(STARTED.wait(10))
        busy = [i for i in self.svc.instances
                if i not in list(self.svc._free.queue)]
        self.assertEqual(len(busy), 1)
        # one free, one busy: the free one retires at once
        self.assertEqual(self.svc.resize(1), 1)
        self.assertEqual(self.svc.instances, busy)
        RELEASE.set()
        t.join(10)
        # the busy one came back, within the target: it stays
        self.assertEqual(self.svc.instances, busy)
        self.assertEqual(list(self.svc._free.queue), busy)


if __name__ == "__main__":
    unittest.main()
