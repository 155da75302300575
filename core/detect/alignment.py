"""Aligned face crops for recognition: the similarity transform (rotation, uniform scale, shift) that takes
a face's 5 points onto a template, and quality signals a recognition pipeline can filter on.

The template is the one recognition models are trained on (insightface's ArcFace 112×112 points: left eye,
right eye, nose tip, left and right mouth corner, in the crop's pixel coordinates); ``96x112`` is the same
face 8 px narrower on each side (SphereFace/CosFace crops). Points are in pixel-centre coordinates (an
integer is a pixel's centre), as the detector returns them and as ``cv2.warpAffine`` samples.
"""
import cv2
import numpy as np

from core.common.errors import SettingError

TEMPLATE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                         [41.5493, 92.3655], [70.7299, 92.2041]])
SIZES = {'112': (112, 112), '112x112': (112, 112), '96x112': (96, 112)}


def crop_size(size):
    """(width, height) of a crop size: 112, '112', '96x112', or any ``N`` (an N×N crop of the 112 template
    scaled)."""
    text = str(size).strip().lower()
    if text in SIZES:
        return SIZES[text]
    if text.isdigit() and 16 <= int(text) <= 1024:
        return int(text), int(text)
    raise SettingError('--align: %r is not a crop size (112, 96x112, or N from 16 to 1024 for N×N)' % (size,))


def template(size=112, margin=0.0):
    """The 5 template points of a crop of ``size``; ``margin`` (≥ 0) shrinks the face towards the crop's
    centre, keeping that share of the side around it (0.2: 20 % more context)."""
    w, h = crop_size(size)
    if margin < 0:
        raise SettingError('--margin: %r must be at least 0' % (margin,))
    pts = TEMPLATE_112.copy()
    if w == 96 and h == 112:
        pts[:, 0] -= 8.0
    else:
        pts *= w / 112.0
    centre = np.array([w, h], np.float64) / 2.0 - 0.5
    return (pts - centre) / (1.0 + margin) + centre


def similarity(src, dst):
    """The 2×3 similarity transform (no reflection) that maps points ``src`` onto ``dst`` in the least-squares
    sense (Umeyama's closed form)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1.0
    rot = u @ np.diag(sign) @ vt
    scale = (sig * sign).sum() / max((s ** 2).sum() / len(src), 1e-12)
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = md - scale * rot @ ms
    return m


def align(img, points, size=112, margin=0.0):
    """The aligned crop (BGR, ``size``) of a face whose 5 points are ``points`` (5×2, image pixels)."""
    w, h = crop_size(size)
    m = similarity(points, template(size, margin))
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def yaw_estimate(points):
    """A rough yaw in degrees from the 5 points: the nose tip's offset from the midline of the eyes and mouth
    corners, over half the eye distance, read as a sine; positive when the nose lies right of that line in
    the image. Frontal faces give about 0, about ±60 where the nose reaches the far eye's column."""
    p = np.asarray(points, np.float64)
    eyes, mouth = (p[0] + p[1]) / 2, (p[3] + p[4]) / 2
    axis = mouth - eyes
    length = np.linalg.norm(axis)
    half_eye = np.linalg.norm(p[1] - p[0]) / 2
    if length < 1e-6 or half_eye < 1e-6:
        return 0.0
    normal = np.array([axis[1], -axis[0]]) / length  # across the face, towards the image's right when upright
    offset = float((p[2] - (eyes + mouth) / 2) @ normal)
    return float(np.degrees(np.arcsin(np.clip(offset / (half_eye * 1.15), -1.0, 1.0))))


def blur_score(crop):
    """Sharpness of a crop: the variance of its grey Laplacian (higher is sharper; compare crops of one size)."""
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())
