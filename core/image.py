"""Image helpers shared by detection and training: normalisation and reading with clear errors."""
import os

import cv2
import numpy as np

MEAN = 127.5
SCALE = 0.0078125  # 1/128


def to_tensor(img):
    """BGR uint8 H×W×3 (or a list / N×H×W×3 array of them) -> float32 N×3×H×W,
    scaled as ``(x - 127.5) / 128`` (exact in float32)."""
    if isinstance(img, np.ndarray) and img.ndim == 3:
        return cv2.dnn.blobFromImage(img, SCALE, None, (MEAN, MEAN, MEAN), False, False)
    if len(img) == 0:
        return np.zeros((0, 3, 0, 0), dtype=np.float32)
    return cv2.dnn.blobFromImages(list(img), SCALE, None, (MEAN, MEAN, MEAN), False, False)


def read_image(path):
    """Read a BGR image; raise a clear error naming the file when it is missing or unreadable."""
    if not os.path.isfile(path):
        raise FileNotFoundError('image not found: %s' % path)
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError('cannot decode image: %s' % path)
    return img
