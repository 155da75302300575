"""Landmark accuracy: NME (mean point error over the inter-ocular distance), failure rate
(NME > 10 %), and the original's training metrics L1/L2 on crop-normalised coordinates.

Inter-ocular distance: between the eye centres for 5 points (points 0 and 1), between the outer eye
corners for 106 points (52 and 61). Predictions of a landmark net on a crop are crop-normalised and
mapped back with the original's half-pixel convention, x = v·side − 0.5.
"""
import os

import numpy as np

EYES = {5: (0, 1), 106: (52, 61)}


def read_points(path, n_points, image_root=None):
    """[(image path, P×2 pixel points)] of a 5-point (CUHK layout) or 106-point list."""
    from core.landmarks.points import read_landmark_list as read_landmarks
    return [(p, pts) for p, _, pts in read_landmarks(path, 'cuhk' if n_points == 5 else 'l106', image_root)]


def usable_samples(samples):
    """(kept samples, skipped messages): a line whose image cannot be read, or whose points lie farther
    outside its image than the image's own size (a label in another frame, or a typo), is left out."""
    from core.common.image import ImageError, read_image
    kept, skipped = [], []
    for path, pts in samples:
        try:
            img = read_image(path, max_pixels=0)
        except ImageError as exc:
            skipped.append(str(exc))
            continue
        h, w = img.shape[:2]
        if ((pts[:, 0] < -w) | (pts[:, 0] > 2 * w) | (pts[:, 1] < -h) | (pts[:, 1] > 2 * h)).any():
            skipped.append('%s: points far outside the %dx%d image' % (path, w, h))
            continue
        kept.append((path, pts))
    return kept, skipped


def skip_line(skipped, total, examples=3):
    """The console line about the lines :func:`usable_samples` left out (None when none)."""
    if not skipped:
        return None
    return 'skipped %d of %d lines, e.g. %s' % (len(skipped), total, '; '.join(skipped[:examples]))


def metrics(pred, gt, sides, n_points):
    """NME (% of inter-ocular distance), failure rate (% with NME > 10 %), L1/L2 per coordinate
    on crop-normalised coordinates. ``pred``/``gt``: N×P×2 pixels, ``sides``: N crop sizes (w, h)."""
    i, j = EYES[n_points]
    iod = np.linalg.norm(gt[:, i] - gt[:, j], axis=1)
    err = np.linalg.norm(pred - gt, axis=2).mean(axis=1) / np.maximum(iod, 1e-9)
    norm_p = pred / sides[:, None, :]
    norm_g = gt / sides[:, None, :]
    d = norm_p - norm_g
    return dict(nme=100 * float(err.mean()), failure=100 * float((err > 0.1).mean()),
                l1=float(np.abs(d).mean()), l2=float((d ** 2).mean()), n=len(gt)), err


def by_pose(err, gt):
    """NME per pose bin of 5-point faces: [(bin label, NME %, faces)], the bins those of
    :func:`core.landmarks.points.yaw_proxy` on the labelled points ``gt`` (N×5×2) of the faces whose
    errors are ``err``."""
    from core.landmarks.points import POSE_EDGES, pose_bins
    bins = pose_bins(gt)
    out = []
    for b in range(len(POSE_EDGES) - 1):
        m = bins == b
        label = '%g-%g' % POSE_EDGES[b:b + 2] if b < len(POSE_EDGES) - 2 else '%g+' % POSE_EDGES[b]
        out.append((label, 100 * float(err[m].mean()) if m.any() else float('nan'), int(m.sum())))
    return out


def pose_line(err, gt):
    """The console line of :func:`by_pose`."""
    return 'NME by pose (yaw proxy of the labels): ' + ', '.join(
        '%s %.2f %% (%d faces)' % row for row in by_pose(err, gt))


def predict(model, samples, batch=256):
    """Run the net on every crop; returns N×P×2 pixel predictions and N×2 crop sizes."""
    import cv2
    from tqdm import tqdm
    from core.common.image import read_image, to_tensor
    size = model.info['size']
    from core.landmarks.points import from_vector
    preds, sides = [], []
    for start in tqdm(range(0, len(samples), batch), desc='landmarks', unit='batch'):
        imgs, whs = [], []
        for path, _ in samples[start:start + batch]:
            img = read_image(path, max_pixels=0)
            whs.append((img.shape[1], img.shape[0]))
            imgs.append(cv2.resize(img, (size, size)))
        out = model(to_tensor(imgs))
        v = out[2] if model.info['kind'] == 'onet' else out[0]
        wh = np.array(whs, float)
        preds.append(from_vector(v) * wh[:, None, :] - 0.5)
        sides.append(wh)
    return np.concatenate(preds), np.concatenate(sides)


def draw_samples(samples, pred, path, count=16, scale=2):
    """A 4-column grid of the first ``count`` images with ground truth (green) and predictions (red)."""
    import cv2
    from core.common.image import write_image
    tiles = []
    for (img_path, gt), p in list(zip(samples, pred))[:count]:
        img = cv2.imread(img_path)
        img = cv2.resize(img, (img.shape[1] * scale, img.shape[0] * scale))
        for pts, color in ((gt, (0, 255, 0)), (p, (0, 0, 255))):
            for x, y in pts:
                if np.isfinite(x) and np.isfinite(y):
                    cv2.circle(img, (int(round((x + 0.5) * scale)), int(round((y + 0.5) * scale))), 2, color, -1)
        tiles.append(cv2.resize(img, (160, 160)))
    while len(tiles) % 4:
        tiles.append(np.zeros_like(tiles[0]))
    return write_image(path, np.vstack([np.hstack(tiles[i:i + 4]) for i in range(0, len(tiles), 4)]))


def mean_shape_baseline(samples, sides, train_list=None, n_points=5):
    """Per-face NME of predicting the mean training shape (crop-normalised) on every crop: the floor
    any landmark net must beat. ``train_list`` defaults to ``new_training.txt`` beside the list."""
    if train_list is None and samples:
        cand = os.path.join(os.path.dirname(samples[0][0]), 'new_training.txt')
        train_list = cand if os.path.isfile(cand) else None
    if train_list is None or not os.path.isfile(train_list) or n_points != 5:
        return None
    import cv2
    train = read_points(train_list, n_points)
    norm = []
    for path, pts in train[:2000]:
        img = cv2.imread(path)
        if img is not None:
            norm.append((pts + 0.5) / [img.shape[1], img.shape[0]])
    mean = np.mean(norm, axis=0)
    pred = mean[None] * sides[:, None, :] - 0.5
    gt = np.stack([p for _, p in samples])
    return metrics(pred, gt, sides, n_points)[1]


def upscaled(img, upscale):
    """The image the cascade sees in the detection protocol (bilinear ×``upscale``)."""
    import cv2
    return cv2.resize(img, (int(round(img.shape[1] * upscale)), int(round(img.shape[0] * upscale))))


def nearest_face(boxes, gt, upscale=1.0):
    """Index of the box (in the ×``upscale`` image) whose centre is nearest the centre of the
    ground-truth points ``gt`` (original image pixels), or None when there are no boxes."""
    if len(boxes) == 0:
        return None
    centres = np.c_[(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2]
    target = (gt.mean(0) + 0.5) * upscale - 0.5
    return int(np.argmin(np.linalg.norm(centres - target, axis=1)))


def detect_points(det, samples, upscale=2.0):
    """Run a cascade on every (upscaled) image and keep the points of the face whose box centre is
    nearest the ground-truth points' centre; returns (N×5×2 points in the original image, found
    mask). ``det.detect`` must return landmarks (an Lnet or an Onet landmark head)."""
    from tqdm import tqdm
    from core.common.image import read_image
    pred = np.full((len(samples), 5, 2), np.nan)
    found = np.zeros(len(samples), bool)
    for k, (path, gt) in enumerate(tqdm(samples, desc='detect', unit='img')):
        img = read_image(path, max_pixels=0)
        boxes, _, points = det.detect(upscaled(img, upscale))
        best = nearest_face(boxes, gt, upscale) if points is not None else None
        if best is None:
            continue
        pred[k] = (points[best] + 0.5) / upscale - 0.5
        found[k] = True
    return pred, found
