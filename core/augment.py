"""Online augmentation of the original (spec §5.5, §7.2, §7.4), vectorised over a batch.

``transform_batch``: brightness factor from {0.6, 0.8, 1.0, 1.2}; then with probability ½ grey
(0.114 B + 0.587 G + 0.299 R) or per-channel gain 1 + U_int[−200, 200]/1000, clipped; then Gaussian
noise with variance U_int{1..10}, clipped; then ``(x − 127.5)/128`` NCHW. ``flip_batch`` mirrors
crops and re-indexes box offsets and landmarks. Every random draw comes from the ``rng`` (a ``numpy.random.Generator``) passed in.
"""
import cv2
import numpy as np

from .image import MEAN, SCALE
from .landmarks import FLIP5, flip_points, normalise, rotate

BRIGHTNESS = np.array([0.6, 0.8, 1.0, 1.2], np.float32)


def transform_batch(imgs, rng, gray=True, color_jitter=True, noise=True):
    """N×H×W×3 uint8 -> N×3×H×W float32, augmented (train) as the original ``transform``."""
    x = imgs.astype(np.float32)
    n = len(x)
    x *= BRIGHTNESS[rng.integers(0, 4, n)][:, None, None, None]
    if gray or color_jitter:
        to_gray = rng.random(n) < 0.5
        gains = 1.0 + rng.integers(-200, 201, (n, 3)).astype(np.float32) / 1000.0
        if gray and to_gray.any():
            g = x[to_gray] @ np.array([0.114, 0.587, 0.299], np.float32)
            x[to_gray] = g[..., None]
        jitter = ~to_gray if gray else np.ones(n, bool)
        if color_jitter and jitter.any():
            x[jitter] *= gains[jitter][:, None, None, :]
        np.clip(x, 0, 255, out=x)
    if noise:
        sigma = np.sqrt(rng.integers(1, 11, n)).astype(np.float32)
        x += rng.standard_normal(x.shape, dtype=np.float32) * sigma[:, None, None, None]
        np.clip(x, 0, 255, out=x)
    return normalise_batch(x)


def normalise_batch(imgs):
    """N×H×W×3 (any dtype) -> N×3×H×W float32 ``(x − 127.5)/128``, no augmentation."""
    x = np.asarray(imgs, np.float32).transpose(0, 3, 1, 2)
    return np.ascontiguousarray((x - MEAN) * SCALE)


def black_border(imgs, labels, rng, max_frac=0.6):
    """Grey-128 band from the left edge, width U_int[0, max_frac·S), on samples with a class label
    (applied before flipping, so flipped samples get it on the right; targets unchanged)."""
    s = imgs.shape[2]
    widths = rng.integers(0, max(1, int(max_frac * s)), len(imgs))
    for i in np.where(labels >= 0)[0]:
        imgs[i, :, :widths[i]] = 128
    return imgs


def flip_batch(imgs, flags, bbox=None, landmarks=None, n_points=5):
    """Mirror the flagged crops; boxes (dx1,dy1,dx2,dy2) -> (−dx2, dy1, −dx1, dy2); landmarks
    re-indexed (5 points: x..., y... layout; 106: interleaved). Returns new arrays."""
    imgs = imgs.copy()
    imgs[flags] = imgs[flags][:, :, ::-1]
    if bbox is not None:
        bbox = bbox.copy()
        b = bbox[flags]
        bbox[flags] = np.stack([-b[:, 2], b[:, 1], -b[:, 0], b[:, 3]], 1)
    if landmarks is not None:
        landmarks = landmarks.copy()
        idx = np.where(flags)[0]
        if n_points == 5:
            lm = landmarks[idx]
            xs, ys = lm[:, :5], lm[:, 5:]
            landmarks[idx] = np.concatenate([1 - xs[:, FLIP5], ys[:, FLIP5]], 1)
        else:
            for i in idx:
                landmarks[i] = flip_points(landmarks[i].reshape(-1, 2)).reshape(-1)
    return imgs, bbox, landmarks


def blur(img, rng):
    """The original's landmark blur: kernel 2·U_int[−5, 12]+1, applied when ≥ 3 (σ automatic)."""
    k = 2 * int(rng.integers(-5, 13)) + 1
    return cv2.GaussianBlur(img, (k, k), 0) if k >= 3 else img


def online_crop5(img, pts, size, rng, box=None, min_rot=-45, max_rot=45):
    """One random rotated crop of a face with 5 points (spec §7.2).

    Returns (size×size crop, normalised 5×2 points)."""
    h, w = img.shape[:2]
    if box is None:
        box = np.array([0, 0, w, h], np.float64)
    center = pts[[0, 1, 3, 4]].mean(0)
    x, y, bw, bh = box
    bs = max(2, int(0.25 * (abs(x - center[0]) + abs(x + bw - center[0]) + abs(y - center[1]) +
                            abs(y + bh - center[1]))))
    angle = int(rng.integers(min_rot, max_rot + 1))
    rpts, m = rotate(pts, center, angle)
    extra = 2 * rpts[[0, 1, 3, 4]].mean(0) - rpts[2]
    check = np.vstack([rpts, extra])
    for _ in range(1000):
        cur = int(rng.integers(5, 26) / 10.0 * bs)
        if cur < 2:
            continue
        dx = int(rng.integers(-int(0.4 * bs), int(0.4 * bs) + 1))
        dy = int(rng.integers(-int(0.4 * bs), int(0.4 * bs) + 1))
        x1 = max(0, int(center[0] + dx - cur / 2.0))
        y1 = max(0, int(center[1] + dy - cur / 2.0))
        if x1 + cur > w or y1 + cur > h:
            continue
        px, py = check[:, 0], check[:, 1]
        if (px < x1 - 0.05 * cur).any() or (px >= x1 + 1.05 * cur).any() or \
                (py < y1 + 0.05 * cur).any() or (py >= y1 + 1.05 * cur).any():
            continue
        span = np.ptp(rpts[:, 0]) ** 2 + np.ptp(rpts[:, 1]) ** 2
        if span < 0.2 * cur * cur:
            continue
        rot = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
        return cv2.resize(rot[y1:y1 + cur, x1:x1 + cur], (size, size)), normalise(rpts, x1, y1, cur)
    # fallback: the unrotated centred square, clipped to the image
    x1, y1 = int(max(0, center[0] - bs / 2.0)), int(max(0, center[1] - bs / 2.0))
    side = int(max(2, min(bs, w - x1, h - y1)))
    return cv2.resize(img[y1:y1 + side, x1:x1 + side], (size, size)), normalise(pts, x1, y1, side)


def online_crop106(img, pts, size, rng, min_rot=-45, max_rot=45):
    """One random rotated crop of a face with 106 points (spec §7.4); the fallback uses its own
    crop size (the original divided by the last tried size)."""
    h, w = img.shape[:2]
    lo, hi = pts.min(0), pts.max(0)
    center = (lo + hi) / 2.0
    angle = int(rng.integers(min_rot, max_rot + 1))
    rpts, m = rotate(pts, center, angle)
    rlo, rhi = rpts.min(0), rpts.max(0)
    rbs = max(2.0, float(max(rhi - rlo)))
    rc = (rlo + rhi) / 2.0
    for _ in range(1000):
        cur = int(rng.integers(10, 16) / 10.0 * rbs)
        shift = int(0.2 * rbs)
        x1 = int(rc[0] - cur / 2.0) + int(rng.integers(-shift, shift + 1))
        y1 = int(rc[1] - cur / 2.0) + int(rng.integers(-shift, shift + 1))
        if cur < 2 or x1 < 0 or y1 < 0 or x1 + cur > w or y1 + cur > h:
            continue
        m15 = 0.15 * cur
        if (rpts[:, 0] < x1 - m15).any() or (rpts[:, 0] >= x1 + cur + m15).any() or \
                (rpts[:, 1] < y1 - m15).any() or (rpts[:, 1] >= y1 + cur + m15).any():
            continue
        if ((rhi - rlo) ** 2).sum() < cur * cur:
            continue
        rot = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
        return cv2.resize(rot[y1:y1 + cur, x1:x1 + cur], (size, size)), normalise(rpts, x1, y1, cur)
    bs = max(hi - lo)
    x1, y1 = int(max(0, center[0] - bs / 2.0)), int(max(0, center[1] - bs / 2.0))
    side = int(max(2, min(bs, w - x1, h - y1)))
    return cv2.resize(img[y1:y1 + side, x1:x1 + side], (size, size)), normalise(pts, x1, y1, side)
