"""A secret, label-preserving distortion of competition drawings, so none equals a public one.

The competition's drawings are Google's public bitmaps; released verbatim, their labels can
be looked up by matching bytes against the per-class files. Every competition image is
therefore resampled once: a sub-pixel shift of up to one pixel, a rotation of up to three
degrees, a scale change of up to three percent (bilinear interpolation about the centre), and
its ink dimmed by a factor between 0.75 and 1. A doodle stays the same doodle, but its bytes,
its ink mask and its anti-aliasing all change. Released train/valid images are jittered with
the public seed (so a model sees the same kind of images it is tested on); the test and
verification images with the instructor's secret.
"""

from __future__ import annotations

import hashlib

import numpy as np

MAX_SHIFT = 1.0  # pixels, per axis
MAX_ROTATION = np.deg2rad(3.0)
MAX_SCALE = 0.03
MIN_GAIN = 0.75
SIZE = 28


def jitter(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Distort each uint8 (N, 28, 28) drawing with its own random parameters; uint8 out."""
    n = len(images)
    angle = rng.uniform(-MAX_ROTATION, MAX_ROTATION, n)[:, None, None]
    scale = rng.uniform(1 - MAX_SCALE, 1 + MAX_SCALE, n)[:, None, None]
    shift = rng.uniform(-MAX_SHIFT, MAX_SHIFT, (2, n))[:, :, None, None]
    gain = rng.uniform(MIN_GAIN, 1.0, n)[:, None, None]
    centre = (SIZE - 1) / 2
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64) - centre
    xo, yo = xs - shift[0], ys - shift[1]
    cos, sin = np.cos(angle), np.sin(angle)
    # where each output pixel comes from in the input (the inverse of the distortion)
    xi = (cos * xo + sin * yo) / scale + centre
    yi = (-sin * xo + cos * yo) / scale + centre
    x0, y0 = np.floor(xi).astype(np.int64), np.floor(yi).astype(np.int64)
    fx, fy = xi - x0, yi - y0
    padded = np.pad(images.astype(np.float64), ((0, 0), (1, 1), (1, 1)))  # outside the image is 0
    rows = np.arange(n)[:, None, None]

    def at(y, x):
        return padded[rows, np.clip(y + 1, 0, SIZE + 1), np.clip(x + 1, 0, SIZE + 1)]

    value = (at(y0, x0) * (1 - fx) * (1 - fy) + at(y0, x0 + 1) * fx * (1 - fy)
             + at(y0 + 1, x0) * (1 - fx) * fy + at(y0 + 1, x0 + 1) * fx * fy)
    return np.clip(np.rint(value * gain), 0, 255).astype(np.uint8)


def jitter_unlike(images: np.ndarray, rng: np.random.Generator, public: set[bytes], attempts: int = 8) -> np.ndarray:
    """:func:`jitter`, drawn again for any image whose bytes equal a drawing in ``public`` (sha256 digests)."""
    out = jitter(images, rng)
    for _ in range(attempts):
        again = [i for i, image in enumerate(out) if hashlib.sha256(image.tobytes()).digest() in public]
        if not again:
            return out
        out[again] = jitter(images[again], rng)
    raise RuntimeError("jitter kept reproducing public drawings (blank images in the source?)")
