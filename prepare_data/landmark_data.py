"""Landmark lists and offline landmark crops (spec §1.2, §7.1, §7.3, §7.4).

List formats (``read_list(path, fmt)``), each giving (image path, box x,y,w,h or None, P×2 points):

* ``celeba``  — ``name x y w h lx1 ly1 … lx5 ly5`` (the original's img_*_celeba lists);
* ``cuhk``    — ``path x1 … x5 y1 … y5`` (../shared/data/landmarks5; the crop is the face box);
* ``l106``    — ``path x0 y0 … x105 y105`` (interleaved, the 106-point lists).
"""
import random

import cv2
import numpy as np

from core.landmarks import FORMATS, ListError, flip_points, normalise, read_list, rotate, to_vector  # noqa: F401


def half_side(box, center):
    """The original's ``bs``: ¼(|x−cx| + |x+w−cx| + |y−cy| + |y+h−cy|) (≈ half the box side)."""
    x, y, w, h = box
    cx, cy = center
    return int(0.25 * (abs(x - cx) + abs(x + w - cx) + abs(y - cy) + abs(y + h - cy)))


def celeba_cut(img, box, points, max_side=200):
    """The original's img_cut_celeba step (§7.1): cut around the face, downscale to ≤ 200 px.

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
    """Offline 5-point crops for Onet/Lnet (spec §7.3), picklable for the parallel runner."""

    ANGLES = list(range(-25, 26, 5))

    def __init__(self, samples, size=48, base_num=1, min_bs=40, flip=False):
        self.samples, self.size, self.base_num, self.min_bs, self.flip = samples, size, base_num, min_bs, flip

    def __call__(self, index, seed):
        from prepare_data.writers import encode
        path, box, pts = self.samples[index]
        img = cv2.imread(path)
        if img is None:
            return [], {'unreadable_images': 1}
        h, w = img.shape[:2]
        if box is None:  # a face crop (CUHK): the whole image is the face box
            box = np.array([0, 0, w, h], np.float64)
        rng = random.Random(int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0]))
        cx, cy = pts[2]
        bs = half_side(box, (cx, cy))
        if bs < self.min_bs or cx - bs / 2.0 < 0 or cy - bs / 2.0 < 0:
            return [], {'faces_skipped': 1}
        center = pts[[0, 1, 3, 4]].mean(0)
        records = []
        for angle in self.ANGLES:
            rpts, m = rotate(pts, center, angle)
            rotated = None
            got = 0
            for _ in range(1000):
                if got >= self.base_num:
                    break
                cur = int(rng.randint(5, 17) / 10.0 * bs)
                dx = rng.randint(-int(0.35 * bs), int(0.35 * bs))
                dy = rng.randint(-int(0.3 * bs), int(0.4 * bs))
                x1, y1 = int(cx + dx - cur / 2.0), int(cy + dy - cur / 2.0)
                if cur < 2 or x1 < 0 or y1 < 0 or x1 + cur > w or y1 + cur > h:
                    continue
                px, py = rpts[:, 0], rpts[:, 1]
                if (px < x1 + 0.05 * cur).any() or (px >= x1 + 0.95 * cur).any() or \
                        (py < y1 + 0.15 * cur).any() or (py >= y1 + 1.05 * cur).any():
                    continue
                span = (px.max() - px.min()) ** 2 + (py.max() - py.min()) ** 2
                if span < 0.2 * cur * cur:
                    continue
                if rotated is None:
                    rotated = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR,
                                             borderMode=cv2.BORDER_CONSTANT, borderValue=0)
                crop = cv2.resize(rotated[y1:y1 + cur, x1:x1 + cur], (self.size, self.size))
                norm = normalise(rpts, x1, y1, cur)
                if self.flip and rng.random() < 0.5:
                    crop, norm = crop[:, ::-1].copy(), flip_points(norm)
                records.append(('landmark', encode(crop), np.r_[-2.0, to_vector(norm)].astype(np.float32)))
                got += 1
        return records, {'faces_used': 1}


class Landmark106Job:
    """Offline 106-point crops (spec §7.4) with the correct flip permutation.

    Fixes the original's crop-centre bug: the crop is centred on the *rotated* points' box."""

    def __init__(self, samples, size=80, base_num=10, flip=True, min_rot=-45, max_rot=45):
        self.samples, self.size, self.base_num, self.flip = samples, size, base_num, flip
        self.min_rot, self.max_rot = min_rot, max_rot

    def __call__(self, index, seed):
        from prepare_data.writers import encode
        path, _, pts = self.samples[index]
        img = cv2.imread(path)
        if img is None:
            return [], {'unreadable_images': 1}
        h, w = img.shape[:2]
        rng = random.Random(int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0]))
        lo, hi = pts.min(0), pts.max(0)
        center = (lo + hi) / 2.0
        records, tries = [], 0
        while len(records) < self.base_num and tries < 1000 * self.base_num:
            tries += 1
            angle = rng.randint(self.min_rot, self.max_rot)
            rpts, m = rotate(pts, center, angle)
            rlo, rhi = rpts.min(0), rpts.max(0)
            rbs = max(rhi - rlo)
            cur = int(rng.randint(110, 125) / 100.0 * rbs)
            shift = int(0.02 * rbs)
            rc = (rlo + rhi) / 2.0
            x1 = int(rc[0] - cur / 2.0 + rng.randint(-shift, shift))
            y1 = int(rc[1] - cur / 2.0 + rng.randint(-shift, shift))
            if cur < 2 or x1 < 0 or y1 < 0 or x1 + cur > w or y1 + cur > h:
                continue
            margin = 0.05 * cur
            if (rpts[:, 0] < x1 + margin).any() or (rpts[:, 0] >= x1 + cur - margin).any() or \
                    (rpts[:, 1] < y1 + margin).any() or (rpts[:, 1] >= y1 + cur - margin).any():
                continue
            span = ((rhi - rlo) ** 2).sum()
            if span < cur * cur:
                continue
            rotated = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
            crop = cv2.resize(rotated[y1:y1 + cur, x1:x1 + cur], (self.size, self.size))
            norm = normalise(rpts, x1, y1, cur)
            if self.flip and rng.random() < 0.5:
                crop, norm = crop[:, ::-1].copy(), flip_points(norm)
            records.append(('landmark106', encode(crop), np.r_[-2.0, to_vector(norm)].astype(np.float32)))
        return records, {'faces_used': 1 if records else 0, 'faces_without_sample': 0 if records else 1}
