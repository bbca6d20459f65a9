#!/usr/bin/python3
"""
transform_reference.py OUTDIR: what torchvision 0.14 makes of PIL images,
the reference test_image_transform.c compares ts_image_transform with.

For each case it writes OUTDIR/<name>.in (the image's pixels, uint8, rows
of width * channels) and OUTDIR/<name>.out (the tensor, float32 little
endian, [channels, height, width]), and one line of OUTDIR/cases.txt:

    name channels width height resize_short resize_w resize_h crop_w crop_h
    normalize mean0 mean1 mean2 std0 std1 std2 out_w out_h

mean and std as the hex bits of the float32 torch makes of them (Normalize
converts the Python floats to the tensor's dtype).  Fixed seeds: the same
files every run.  Run with Debian's /usr/bin/python3 (PIL and torchvision).
"""

import os
import sys
import warnings

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
HALF = ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5])
MNIST = ([0.1307], [0.3081])

# TorchServe's image_classifier
DEFAULT = dict(short=256, crop=(224, 224), norm=IMAGENET)


def smooth(rng, w, h, c):
    """Random but smooth pixels (a coarse random grid, interpolated) plus
    noise, over the whole 0..255 range, clipped at both ends."""
    gw, gh = max(2, w // 37 + 2), max(2, h // 29 + 2)
    grid = rng.uniform(-40, 295, size=(gh, gw, c))
    xs = np.linspace(0, gw - 1, w)
    ys = np.linspace(0, gh - 1, h)
    x0 = np.minimum(xs.astype(int), gw - 2)
    y0 = np.minimum(ys.astype(int), gh - 2)
    fx = (xs - x0)[None, :, None]
    fy = (ys - y0)[:, None, None]
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
    bot = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
    img = top * (1 - fy) + bot * fy + rng.normal(0, 12, size=(h, w, c))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def pixels(kind, seed, w, h, c):
    rng = np.random.default_rng(seed)
    if kind == "smooth":
        return smooth(rng, w, h, c)
    if kind == "noise":
        return rng.integers(0, 256, size=(h, w, c), dtype=np.uint8)
    if kind == "white":
        return np.full((h, w, c), 255, dtype=np.uint8)
    if kind == "checker":
        yy, xx = np.mgrid[0:h, 0:w]
        board = ((xx + yy) % 2 * 255).astype(np.uint8)
        return np.repeat(board[:, :, None], c, axis=2)
    raise ValueError(kind)


def case(name, w, h, short=0, size=None, crop=None, norm=None,
         kind="smooth"):
    return dict(name=name, w=w, h=h, short=short, size=size, crop=crop,
                norm=norm, kind=kind)


def cases():
    out = []
    for c, tag in ((3, "rgb"), (1, "l")):
        norm = IMAGENET if c == 3 else MNIST
        d = dict(DEFAULT, norm=norm)
        for w, h in ((333, 250), (250, 333), (1, 1), (4000, 10), (10, 4000),
                     (640, 480), (1920, 1080), (256, 300), (300, 256),
                     (224, 224), (50, 40), (257, 255)):
            out.append(case(f"{tag}_{w}x{h}_default", w, h, **d))

        # CenterCrop larger than the image: zero padding (odd and even)
        out.append(case(f"{tag}_100x80_crop224", 100, 80, crop=(224, 224),
                        norm=norm))
        out.append(case(f"{tag}_101x81_crop224", 101, 81, crop=(224, 224),
                        norm=norm))
        out.append(case(f"{tag}_300x100_crop224", 300, 100, crop=(224, 224),
                        norm=norm))
        out.append(case(f"{tag}_100x80_resize64_crop100x91", 100, 80,
                        short=64, crop=(91, 100), norm=norm))
        # odd crops
        out.append(case(f"{tag}_333x250_crop225x223", 333, 250, short=256,
                        crop=(223, 225), norm=norm))
        out.append(case(f"{tag}_640x480_crop223x225", 640, 480, short=256,
                        crop=(225, 223), norm=norm))
        out.append(case(f"{tag}_341x256_crop340x255", 341, 256,
                        crop=(255, 340), norm=norm))
        # Resize((h, w)) exact: both passes, one pass, up and down
        out.append(case(f"{tag}_640x480_size300x200", 640, 480,
                        size=(300, 200), norm=norm))
        out.append(case(f"{tag}_333x250_size250x100", 333, 250,
                        size=(250, 100), norm=norm))
        out.append(case(f"{tag}_333x250_size100x333", 333, 250,
                        size=(100, 333), norm=norm))
        out.append(case(f"{tag}_333x250_size250x333", 333, 250,
                        size=(250, 333), norm=norm))
        out.append(case(f"{tag}_60x45_size500x700", 60, 45,
                        size=(500, 700), crop=(224, 224), norm=norm))
        out.append(case(f"{tag}_1920x1080_size3x5", 1920, 1080,
                        size=(3, 5), norm=norm))
        out.append(case(f"{tag}_7x3_size1x1", 7, 3, size=(1, 1), norm=norm))
        out.append(case(f"{tag}_1920x1080_size1x2000", 1920, 1080,
                        size=(1, 2000), crop=(1, 224), norm=norm))
        # steps off
        out.append(case(f"{tag}_640x480_nonorm", 640, 480, short=256,
                        crop=(224, 224)))
        out.append(case(f"{tag}_640x480_noresize", 640, 480,
                        crop=(224, 224), norm=norm))
        out.append(case(f"{tag}_640x480_nocrop", 640, 480, short=256,
                        norm=norm))
        out.append(case(f"{tag}_333x250_totensor", 333, 250))
        out.append(case(f"{tag}_333x250_half", 333, 250, short=256,
                        crop=(224, 224), norm=(HALF[0][:c], HALF[1][:c])))
        # every value, hard edges, saturation
        out.append(case(f"{tag}_640x480_noise", 640, 480, kind="noise", **d))
        out.append(case(f"{tag}_97x89_noise_up", 97, 89, short=300,
                        kind="noise", norm=norm))
        out.append(case(f"{tag}_640x480_white", 640, 480, kind="white", **d))
        out.append(case(f"{tag}_1000x999_checker", 1000, 999, kind="checker",
                        short=37, norm=norm))
        # the vector code's edges: rows of fewer bytes than a vector read
        # (the last rows from copies), outputs shorter than a vector, 1-tap
        # windows of weight 1 (2^22) when upscaling, x down with y up and
        # the other way, 121-row windows in the ring, longer ones in sums
        out.append(case(f"{tag}_5x7_size3x4", 5, 7, size=(3, 4), norm=norm))
        out.append(case(f"{tag}_2x2_size9x7", 2, 2, size=(9, 7), norm=norm))
        out.append(case(f"{tag}_3x3_white_size50x64", 3, 3, size=(50, 64),
                        kind="white", norm=norm))
        out.append(case(f"{tag}_61x37_size53x29", 61, 37, size=(53, 29),
                        norm=norm))
        out.append(case(f"{tag}_29x53_size37x61_noise", 29, 53,
                        size=(37, 61), kind="noise", norm=norm))
        out.append(case(f"{tag}_37x600_size10x37", 37, 600, size=(10, 37),
                        norm=norm))
        out.append(case(f"{tag}_500x300_size2x101_noise", 500, 300,
                        size=(2, 101), kind="noise", norm=norm))
        out.append(case(f"{tag}_403x301_size250x17_noise", 403, 301,
                        size=(250, 17), kind="noise", norm=norm))
    return out


def torchvision_transform(cs):
    steps = []
    if cs["short"]:
        steps.append(transforms.Resize(cs["short"]))
    elif cs["size"]:
        steps.append(transforms.Resize(cs["size"]))
    if cs["crop"]:
        steps.append(transforms.CenterCrop(cs["crop"]))
    steps.append(transforms.ToTensor())
    if cs["norm"]:
        steps.append(transforms.Normalize(*cs["norm"]))
    return transforms.Compose(steps)


def f32bits(values):
    vals = (list(values) if values else []) + [0.0] * 3
    return [f"{int(np.float32(v).view(np.uint32)):08x}" for v in vals[:3]]


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)

    lines = []
    for seed, cs in enumerate(cases()):
        c = 3 if cs["name"].startswith("rgb") else 1
        px = pixels(cs["kind"], 1000 + seed, cs["w"], cs["h"], c)
        img = Image.fromarray(px[:, :, 0] if c == 1 else px,
                              "L" if c == 1 else "RGB")
        assert img.size == (cs["w"], cs["h"])
        tensor = torchvision_transform(cs)(img)
        assert tensor.dtype == torch.float32 and tensor.shape[0] == c
        out_h, out_w = tensor.shape[1], tensor.shape[2]

        with open(os.path.join(outdir, cs["name"] + ".in"), "wb") as f:
            f.write(px.tobytes())
        with open(os.path.join(outdir, cs["name"] + ".out"), "wb") as f:
            f.write(tensor.numpy().astype("<f4").tobytes())

        size = cs["size"] or (0, 0)
        crop = cs["crop"] or (0, 0)
        norm = cs["norm"]
        fields = [cs["name"], c, cs["w"], cs["h"], cs["short"],
                  size[1], size[0], crop[1], crop[0], 1 if norm else 0]
        fields += f32bits(norm[0] if norm else None)
        fields += f32bits(norm[1] if norm else None)
        fields += [out_w, out_h]
        lines.append(" ".join(str(v) for v in fields))

    with open(os.path.join(outdir, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
