"""Landmark lists and offline landmark crops.

List formats (``read_landmark_list(path, fmt)``), each giving (image path, box x,y,w,h or None, P×2 points):

* ``celeba``  — ``name x y w h lx1 ly1 … lx5 ly5`` (the original's img_*_celeba lists);
* ``cuhk``    — ``path x1 … x5 y1 … y5`` (../shared/data/landmarks5; the crop is the face box);
* ``l106``    — ``path x0 y0 … x105 y105`` (interleaved, the 106-point lists).
"""
import random

import cv2
import numpy as np

from core.train.augment import half_side, offline_crops5, offline_crops106, side_border
from core.common.fileio import LANDMARK
from core.common.image import read_image
from core.landmarks.points import FORMATS, ListError, read_landmark_list, to_vector  # noqa: F401


def celeba_cut(img, box, points, max_side=200):
    """The original's img_cut_celeba step: cut around the face, downscale to ≤ 200 px.

    Returns (cut image, box, points) in the cut's pixels, or None when the face is unusable.
    """
    h, w = img.shape[:2]
    cx, cy = points[2]
    bs = half_side(box, (cx, cy))
    x1, y1 = cx - bs / 2.0, cy - bs / 2.0
    if bs < 20 or x1 < 0 or y1 < 0 or x1 + bs > w or y1 + bs > h:
        return None
    l, t = int(max(0, x1 - 1.5 * bs)), int(max(0, y1 - 1.5 * bs))
    r, b = int(min(w, x1 + 2.5 * bs)), int(min(h, y1 + 2.5 * bs))
    cut = img[t:b, l:r]
    pts = np.asarray(points, np.float64) - [l, t]
    bx = np.array([box[0] - l, box[1] - t, box[2], box[3]], np.float64)
    if cut.shape[0] > max_side and cut.shape[1] > max_side:
        s = max_side / float(min(cut.shape[:2]))
        cut = cv2.resize(cut, (int(round(cut.shape[1] * s)), int(round(cut.shape[0] * s))))
        pts, bx = pts * s, bx * s
    return cut, bx, pts


class Landmark5Job:
    """Offline 5-point crops for Onet/Lnet (core.train.augment.offline_crops5), picklable for the runner."""

    def __init__(self, samples, size, base_num, min_bs=40, flip=False):
        self.samples, self.size, self.base_num, self.min_bs, self.flip = samples, size, base_num, min_bs, flip

    def __call__(self, index, seed):
        from prepare_data.writers import encode
        path, box, pts = self.samples[index]
        img = read_image(path, max_pixels=0)  # an unreadable image: a counted skip (prepare_data/runner.py)
        crops = offline_crops5(img, pts, self.size, _rng(seed, index), box, self.base_num, self.min_bs, self.flip)
        if not crops:
            return [], {'faces_skipped': 1}
        return [('landmark', encode(c), np.r_[LANDMARK, to_vector(n)].astype(np.float32)) for c, n in crops], \
            {'faces_used': 1}


class Landmark106Job:
    """Offline 106-point crops (core.train.augment.offline_crops106): one rotation per face, flips only when
    asked, the grey side band with ``black_border`` (config.enable_black_border)."""

    def __init__(self, samples, size=80, base_num=10, flip=False, min_rot=-45, max_rot=45, black_border=False):
        self.samples, self.size, self.base_num, self.flip = samples, size, base_num, flip
        self.min_rot, self.max_rot, self.black_border = min_rot, max_rot, black_border

    def __call__(self, index, seed):
        from prepare_data.writers import encode
        path, _, pts = self.samples[index]
        img = read_image(path, max_pixels=0)  # an unreadable image: a counted skip (prepare_data/runner.py)
        rng = _rng(seed, index)
        crops = offline_crops106(img, pts, self.size, rng, self.base_num, self.flip, self.min_rot, self.max_rot)
        if self.black_border:
            border_rng = np.random.default_rng(rng.getrandbits(32))
            crops = [(side_border(c, border_rng), n) for c, n in crops]
        records = [('landmark106', encode(c), np.r_[LANDMARK, to_vector(n)].astype(np.float32)) for c, n in crops]
        return records, {'faces_used': 1 if records else 0, 'faces_without_sample': 0 if records else 1}


def _rng(seed, index):
    return random.Random(int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0]))
