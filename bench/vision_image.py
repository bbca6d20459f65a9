"""The benchmark's photo-like JPEGs, the same bytes for bench/preprocess.py
and bench/run.sh's vision group: t/images/make_vision_fixtures.py's photo()
(smooth colour gradients, six discs, noise; numpy's default_rng(seed)),
saved by Pillow 9.4 at quality 90 (4:2:0, baseline).

    /usr/bin/python3 bench/vision_image.py OUT.jpg WIDTH HEIGHT
"""

import io
import os
import sys

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "t", "images"))

from make_vision_fixtures import photo  # noqa: E402

SIZES = ((640, 480), (1920, 1080))


def jpeg(w, h):
    """the JPEG of w x h, its seed the width"""
    buf = io.BytesIO()
    Image.fromarray(photo(w, h, w)).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


if __name__ == "__main__":
    with open(sys.argv[1], "wb") as f:
        f.write(jpeg(int(sys.argv[2]), int(sys.argv[3])))
