"""Pure-Python tests of the ts package and its glue ts._embed (no nginx).

Run from the repository root with Debian's interpreter (python3-torch,
python3-torchvision, python3-pil):

    /usr/bin/python3 -m unittest discover -s runtime/python/tests -t runtime/python

test_fixtures also checks the archives t/python/make_python_fixtures.py
packs: it uses $TS_PYTHON_FIXTURES when set (a directory the script
wrote), else runs the script into a temporary directory with
build/archive_tool (make build/archive_tool), else skips."""

import logging

# the default handlers warn when index_to_name.json is missing, as
# TorchServe's do; the tests load many such models
logging.getLogger("ts").setLevel(logging.ERROR)
