"""Image helpers shared by detection and training: normalisation and reading with clear errors."""
import os

import cv2
import numpy as np

MEAN = 127.5
SCALE = 0.0078125  # 1/128


def to_tensor(img):
    """BGR uint8 H×W×3 (or N×H×W×3) -> float32 N×3×H×W scaled as ``(x - 127.5) / 128``."""
    arr = np.asarray(img, dtype=np.float32)
    if arr.ndim == 3:
        arr = arr[None]
    return np.ascontiguousarray((arr.transpose(0, 3, 1, 2) - MEAN) * SCALE)


def read_image(path):
    """Read a BGR image; raise a clear error naming the file when it is missing or unreadable."""
    if not os.path.isfile(path):
        raise FileNotFoundError('image not found: %s' % path)
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError('cannot decode image: %s' % path)
    return img
