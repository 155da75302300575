"""The original's augmentation: batch transforms (vectorised) and landmark crops (online and offline).

``transform_batch``: brightness factor from {0.6, 0.8, 1.0, 1.2}; then with probability ½ grey
(0.114 B + 0.587 G + 0.299 R) or per-channel gain 1 + U_int[−200, 200]/1000, clipped; then Gaussian
noise with variance U_int{1..10}, clipped; then ``(x − 127.5)/128`` NCHW. ``flip_batch`` mirrors
crops and re-indexes box offsets and landmarks. Every random draw comes from the ``rng`` (a ``numpy.random.Generator``) passed in.
"""
import cv2
import numpy as np

from core.common.boxes import padded_patch, square
from core.common.image import MEAN, SCALE
from core.landmarks.points import WEIGHTED_106, flip_points, from_vector, normalise, rotate, to_vector

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
        landmarks[idx] = to_vector(flip_points(from_vector(landmarks[idx], n_points)))
    return imgs, bbox, landmarks


def blur(img, rng):
    """The original's landmark blur: kernel 2·U_int[−5, 12]+1, applied when ≥ 3 (σ automatic)."""
    k = 2 * int(rng.integers(-5, 13)) + 1
    return cv2.GaussianBlur(img, (k, k), 0) if k >= 3 else img


# --- landmark crops --------------------------------------------------------------------------------
# Every landmark crop, online (one fresh sample per face per epoch) or offline (crops saved once), is
# the same search: rotate the points about a centre, draw candidate squares (x1, y1, side) until one
# lies inside the image and keeps the points where the variant wants them, then cut that square out
# of the rotated image and normalise the points to it. The variants differ only in how candidates
# are drawn and accepted — the original's numbers, given next to each variant below.

def search_crop(img, m, rpts, size, draw, accept, tries=1000, rotated=None):
    """(size×size crop, crop-normalised points) of the first accepted candidate, or None.

    ``m``: the rotation matrix, ``rpts``: the rotated points, ``draw()`` -> (x1, y1, side),
    ``accept(x1, y1, side)`` -> bool; ``rotated()`` may supply a cached rotated image."""
    h, w = img.shape[:2]
    for _ in range(tries):
        x1, y1, cur = draw()
        if cur < 2 or x1 < 0 or y1 < 0 or x1 + cur > w or y1 + cur > h or not accept(x1, y1, cur):
            continue
        rot = rotated() if rotated else cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
        return cv2.resize(rot[y1:y1 + cur, x1:x1 + cur], (size, size)), normalise(rpts, x1, y1, cur)
    return None


def _crops(img, m, rpts, size, draw, accept, rotated, base_num, flip, rng):
    """Up to ``base_num`` offline crops of one rotation (stopping at the first search that fails),
    each mirrored with probability ½ when ``flip``; ``rng`` a ``random.Random``."""
    out = []
    for _ in range(base_num):
        got = search_crop(img, m, rpts, size, draw, accept, rotated=rotated)
        if got is None:
            break
        crop, norm = got
        if flip and rng.random() < 0.5:
            crop, norm = crop[:, ::-1].copy(), flip_points(norm)
        out.append((crop, norm))
    return out


def inside(pts, x1, y1, cur, left, right, top, bottom):
    """Points within [x1 + left·cur, x1 + (1 − right)·cur) × [y1 + top·cur, y1 + (1 − bottom)·cur);
    a negative margin lets points spill outside the crop by that much."""
    px, py = pts[:, 0], pts[:, 1]
    return not ((px < x1 + left * cur).any() or (px >= x1 + (1 - right) * cur).any() or
                (py < y1 + top * cur).any() or (py >= y1 + (1 - bottom) * cur).any())


def _spread(pts):
    """Squared diagonal of the points' bounding box."""
    return float(np.ptp(pts[:, 0]) ** 2 + np.ptp(pts[:, 1]) ** 2)


def _fallback(img, pts, center, side, size):
    """The unrotated square centred on the face, clipped to the image, when no candidate was accepted."""
    h, w = img.shape[:2]
    x1, y1 = int(max(0, center[0] - side / 2.0)), int(max(0, center[1] - side / 2.0))
    side = int(max(2, min(side, w - x1, h - y1)))
    return cv2.resize(img[y1:y1 + side, x1:x1 + side], (size, size)), normalise(pts, x1, y1, side)


def half_side(box, center):
    """The original's ``bs``: ¼(|x−cx| + |x+w−cx| + |y−cy| + |y+h−cy|) (about half the box side)."""
    x, y, w, h = box
    cx, cy = center
    return int(0.25 * (abs(x - cx) + abs(x + w - cx) + abs(y - cy) + abs(y + h - cy)))


def online_crop5(img, pts, size, rng, box=None, min_rot=-45, max_rot=45):
    """One random rotated crop of a face with 5 points (a fresh one per face per epoch).

    Rotation about the mean of eyes and mouth corners by an integer angle in [min_rot, max_rot];
    side 0.5–2.5 × bs, centre shifted up to ±0.4 bs (top-left clamped at 0); the points and the
    point opposite the nose across the 4-point centre stay inside, with 5 % spill allowed except at
    the top; their spread at least 0.2·side². ``rng``: a numpy Generator. Returns (crop, points)."""
    h, w = img.shape[:2]
    box = np.array([0, 0, w, h], np.float64) if box is None else box
    center = pts[[0, 1, 3, 4]].mean(0)
    bs = max(2, half_side(box, center))
    rpts, m = rotate(pts, center, int(rng.integers(min_rot, max_rot + 1)))
    check = np.vstack([rpts, 2 * rpts[[0, 1, 3, 4]].mean(0) - rpts[2]])
    spread = _spread(rpts)

    def draw():
        cur = int(rng.integers(5, 26) / 10.0 * bs)
        dx = int(rng.integers(-int(0.4 * bs), int(0.4 * bs) + 1))
        dy = int(rng.integers(-int(0.4 * bs), int(0.4 * bs) + 1))
        return max(0, int(center[0] + dx - cur / 2.0)), max(0, int(center[1] + dy - cur / 2.0)), cur
    out = search_crop(img, m, rpts, size, draw,
                      lambda x1, y1, cur: inside(check, x1, y1, cur, -0.05, -0.05, 0.05, -0.05) and spread >= 0.2 * cur * cur)
    return out if out is not None else _fallback(img, pts, center, bs, size)


def offline_crops5(img, pts, size, rng, box, base_num, min_bs=40, flip=False,
                   angles=tuple(range(-25, 26, 5))):
    """The original's offline 5-point crops for Onet/Lnet: for each angle −25, −20 … 25, ``base_num``
    crops of side 0.5–1.7 × bs around the nose, shifted ±0.35 bs in x and −0.3…+0.4 bs in y, with
    the points 5 % inside left and right, 15 % inside at the top and up to 5 % below; spread at
    least 0.2·side². ``rng``: a ``random.Random``. Returns [(crop, points)] ([] for faces too small
    (bs < ``min_bs``) or too close to the top-left corner)."""
    h, w = img.shape[:2]
    box = np.array([0, 0, w, h], np.float64) if box is None else box
    cx, cy = pts[2]
    bs = half_side(box, (cx, cy))
    if bs < min_bs or cx - bs / 2.0 < 0 or cy - bs / 2.0 < 0:
        return []
    center, out = pts[[0, 1, 3, 4]].mean(0), []

    def draw():
        cur = int(rng.randint(5, 17) / 10.0 * bs)
        dx = rng.randint(-int(0.35 * bs), int(0.35 * bs))
        dy = rng.randint(-int(0.3 * bs), int(0.4 * bs))
        return int(cx + dx - cur / 2.0), int(cy + dy - cur / 2.0), cur
    for angle in angles:
        rpts, m = rotate(pts, center, angle)
        spread, cache = _spread(rpts), []

        def rotated():
            if not cache:
                cache.append(cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0))
            return cache[0]
        out += _crops(img, m, rpts, size, draw, lambda x1, y1, cur: inside(
            rpts, x1, y1, cur, 0.05, 0.05, 0.15, -0.05) and spread >= 0.2 * cur * cur, rotated, base_num, flip, rng)
    return out


def upright_angle(pts):
    """Rotation that makes the eye-centre → mouth-centre direction vertical (106 points; the
    original's ``landmark106_migu_init_rot``): eyes 52, 55, 58, 61, mouth 84, 90, 96, 100."""
    eye, mouth = pts[[52, 55, 58, 61]].mean(0), pts[[84, 90, 96, 100]].mean(0)
    d = mouth - eye
    return 90.0 - np.degrees(np.arctan2(d[1], d[0]))


def online_crop106(img, pts, size, rng, min_rot=-45, max_rot=45, init_rot=False):
    """One random rotated crop of a face with 106 points: rotation about the points' box centre
    (with ``init_rot`` first made upright), side 1.0–1.5 × the rotated box, centre shifted ±0.2 of
    it, points may spill 15 % on every side, spread at least side². The fallback (unrotated box
    square) divides by its own side (the original divided by the last tried size)."""
    lo, hi = pts.min(0), pts.max(0)
    center = (lo + hi) / 2.0
    init = int(round(upright_angle(pts))) if init_rot else 0
    rpts, m = rotate(pts, center, int(rng.integers(min_rot - init, max_rot - init + 1)))
    rlo, rhi = rpts.min(0), rpts.max(0)
    rbs, rc, spread = max(2.0, float(max(rhi - rlo))), (rlo + rhi) / 2.0, float(((rhi - rlo) ** 2).sum())

    def draw():
        cur = int(rng.integers(10, 16) / 10.0 * rbs)
        shift = int(0.2 * rbs)
        return (int(rc[0] - cur / 2.0) + int(rng.integers(-shift, shift + 1)),
                int(rc[1] - cur / 2.0) + int(rng.integers(-shift, shift + 1)), cur)
    out = search_crop(img, m, rpts, size, draw,
                      lambda x1, y1, cur: inside(rpts, x1, y1, cur, -0.15, -0.15, -0.15, -0.15) and spread >= cur * cur)
    return out if out is not None else _fallback(img, pts, center, max(hi - lo), size)


def offline_crops106(img, pts, size, rng, base_num=10, flip=False, min_rot=-45, max_rot=45):
    """The original's offline 106-point crops (gen_landmark106): one rotation angle per face for all
    its crops, side 1.10–1.25 × the rotated box, centre shifted ±2 %, every point 5 % inside, spread
    at least side²; flipped only when asked. Crops are centred on the rotated points' box (the
    original used the unrotated square's corner with the rotated size, which shifts the crop).
    ``rng``: a ``random.Random``. Returns [(crop, points)]."""
    h, w = img.shape[:2]
    lo, hi = pts.min(0), pts.max(0)
    rpts, m = rotate(pts, (lo + hi) / 2.0, rng.randint(min_rot, max_rot))
    rlo, rhi = rpts.min(0), rpts.max(0)
    rbs, rc, spread = float(max(rhi - rlo)), (rlo + rhi) / 2.0, float(((rhi - rlo) ** 2).sum())
    cache = []

    def rotated():
        if not cache:
            cache.append(cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0))
        return cache[0]

    def draw():
        cur = int(rng.randint(110, 125) / 100.0 * rbs)
        shift = int(0.02 * rbs)
        return int(rc[0] - cur / 2.0 + rng.randint(-shift, shift)), int(rc[1] - cur / 2.0 + rng.randint(-shift, shift)), cur
    return _crops(img, m, rpts, size, draw, lambda x1, y1, cur: inside(
        rpts, x1, y1, cur, 0.05, 0.05, 0.05, 0.05) and spread >= cur * cur, rotated, base_num, flip, rng)


def weight_points(norm, factor=2.0):
    out = np.array(norm, np.float64, copy=True)
    out[WEIGHTED_106] *= factor
    return out


def side_border(img, rng, max_frac=0.5):
    """Grey-128 band on the left or the right, width U_int[0, max_frac·S) (106-point black border)."""
    s = img.shape[1]
    width = int(rng.integers(0, max(1, int(max_frac * s))))
    out = img.copy()
    if rng.random() < 0.5:
        out[:, :width] = 128
    else:
        out[:, s - width:] = 128
    return out


# --- detector framing ------------------------------------------------------------------------------
# The detector feeds a landmark net the squared, rounded final box of the cascade, cut out with zero
# padding and resized (MtcnnDetector.landmarks). Training on crops framed the same way — the box the
# cascade gives on each training face, jittered a little — makes train and test inputs agree; the
# original's online crops (0.5–2.5 × a 40 px base box) are much looser than any detector box.

def detector_square(box):
    """The integer crop (x1, y1, x2, y2) the detector cuts for a landmark net from a final box: squared
    about its centre with side max(w, h) (+1 convention), each corner rounded (so the two sides may
    differ by a pixel, as in the detector)."""
    sq = square(np.asarray(box, np.float64)[None, :4])[0]
    return tuple(int(v) for v in np.round(sq))


def box_crop5(img, pts, box, size, rng=None, shift=0.05, scale=0.1, max_rot=15.0):
    """(size×size crop, crop-normalised points) framed as the detector frames a face.

    ``box``: the detector's final box (x1, y1, x2, y2) of this face. Without ``rng`` the crop is
    exactly the detector's (square, round, zero-padded cut, bilinear resize). With ``rng`` (a numpy
    Generator) the square is jittered — centre shifted up to ±``shift`` of the side in x and y, side
    scaled by 1 ± ``scale``, rotated by up to ±``max_rot`` degrees about its centre — and sampled in
    one bilinear warp with the same pixel-centre convention."""
    x1, y1, x2, y2 = detector_square(box)
    if rng is None:
        wh = np.array([x2 - x1 + 1, y2 - y1 + 1], np.float64)
        return cv2.resize(padded_patch(img, x1, y1, x2, y2), (size, size)), (np.asarray(pts, np.float64) - [x1, y1] + 0.5) / wh
    side = x2 - x1 + 1
    cx = x1 + side / 2.0 + rng.uniform(-shift, shift) * side   # continuous coordinates (pixel i spans [i, i+1))
    cy = y1 + side / 2.0 + rng.uniform(-shift, shift) * side
    side = side * (1.0 + rng.uniform(-scale, scale))
    theta = np.deg2rad(rng.uniform(-max_rot, max_rot))
    k = side / float(size)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    # destination pixel j (centre j + 0.5) -> source index: centre + R·k·(j + 0.5 − size/2) − 0.5
    a = k * rot
    t = np.array([cx, cy]) - 0.5 + a @ np.full(2, 0.5 - size / 2.0)
    crop = cv2.warpAffine(img, np.hstack([a, t[:, None]]), (size, size),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    u = (np.asarray(pts, np.float64) + 0.5 - [cx, cy]) @ rot / k + size / 2.0  # R^T (p − c) / k, row form
    return crop, u / size
