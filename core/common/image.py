"""Image helpers shared by detection and training: normalisation and reading with clear errors."""
import os

import cv2
import numpy as np

try:  # OpenCV's own warnings (e.g. a file it cannot decode) say nothing our one-line errors do not
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
except AttributeError:  # pragma: no cover - an OpenCV without the logging module
    pass

from .errors import InputError

MEAN = 127.5
SCALE = 0.0078125  # 1/128


def to_tensor(img, out=None):
    """BGR uint8 H×W×3 (or a list / N×H×W×3 array of them) -> float32 N×3×H×W, scaled as
    ``(x − 127.5) / 128`` (exact in float32). ``out``: a float32 1×3×H×W array to fill (reusing one
    buffer per size avoids fresh pages for every pyramid level)."""
    if isinstance(img, np.ndarray) and img.ndim == 3:
        if out is None or out.shape != (1, 3) + img.shape[:2]:
            out = np.empty((1, 3) + img.shape[:2], np.float32)
        for c, plane in enumerate(cv2.split(img)):  # one pass per plane, no intermediate copies
            np.subtract(plane, np.float32(MEAN), out=out[0, c], dtype=np.float32)
        out *= np.float32(SCALE)
        return out
    if len(img) == 0:
        return np.zeros((0, 3, 0, 0), dtype=np.float32)
    x = (img if isinstance(img, np.ndarray) else np.stack(img)).transpose(0, 3, 1, 2).astype(np.float32, order='C')
    x -= MEAN
    x *= SCALE
    return x


# Largest image the detector and the data tools accept. The Pnet pyramid at min face 20 runs the
# full-resolution image first: a 12000x9000 photo needs ~14 GB there. Above the limit the message
# says to downscale (or to raise the limit with --max_pixels where a tool offers it).
MAX_PIXELS = 40_000_000


class ImageError(InputError):
    """An image that is missing, cannot be decoded or is too large (the message names the file)."""


def check_size(img, path='image', max_pixels=MAX_PIXELS):
    h, w = img.shape[:2]
    if max_pixels and h * w > max_pixels:
        raise ImageError('%s: %dx%d is %.1f megapixels, more than the limit of %.1f; downscale it first '
                         '(or raise --max_pixels)' % (path, w, h, h * w / 1e6, max_pixels / 1e6))
    return img


def read_image(path, max_pixels=MAX_PIXELS):
    """Read a BGR image; an :class:`ImageError` naming the file when it is missing, unreadable or
    larger than ``max_pixels`` (0 = no limit)."""
    if not os.path.isfile(path):
        raise ImageError('%s: image not found' % path)
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ImageError('%s: cannot decode image' % path)
    return check_size(img, path, max_pixels)


def from_tensor(x):
    """Inverse of :func:`to_tensor`: float N×3×H×W -> uint8 N×H×W×3."""
    return (np.asarray(x).transpose(0, 2, 3, 1) / SCALE + MEAN).round().clip(0, 255).astype(np.uint8)


def write_image(path, img):
    """Write an image atomically in the format its extension names; an :class:`ImageError` when it
    cannot be encoded or written (never a silent failure)."""
    from .fileio import atomic_write
    ext = os.path.splitext(path)[1].lower() or '.png'
    try:
        ok, buf = cv2.imencode(ext, img)
    except cv2.error:
        ok = False
    if not ok:
        raise ImageError('%s: cannot encode an image as %r (use .png or .jpg)' % (path, ext))
    try:
        with atomic_write(path, 'wb') as f:
            f.write(buf.tobytes())
    except OSError as exc:
        raise ImageError('%s: cannot write (%s)' % (path, exc.strerror or exc))
    return path


def contact_sheet(tiles, cols=8, fill=255):
    """Same-sized tiles in rows of ``cols``, the last row filled out with ``fill``; None without tiles."""
    if not len(tiles):
        return None
    tiles = list(tiles) + [np.full_like(tiles[0], fill)] * (-len(tiles) % cols)
    return np.vstack([np.hstack(tiles[i:i + cols]) for i in range(0, len(tiles), cols)])
