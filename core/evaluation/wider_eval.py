"""WIDER FACE evaluation with the official semantics, pure numpy.

Ground truth comes from the official ``wider_face_val.mat`` + ``wider_{easy,medium,hard}_val.mat``
(settings easy / medium / hard), or from an ``anno.txt`` (a dev split carved out of the training
images) with two settings: ``dev`` counts every face whose larger side is at least ``min_face``
(the detector's smallest face, the rule the mining recall uses too) and ``dev40`` every face of at
least 40 px; smaller faces are "don't care": a detection matching one (IoU ≥ 0.5) is removed from
the proposals, neither true nor false positive, exactly as the official toolkit treats faces left
out of a difficulty setting.

Predictions use the official layout: one ``<event>/<image>.txt`` per image holding the name, the
count and ``x y w h score`` lines. Scores are normalised to [0, 1] over all predictions and swept
over 1000 thresholds; AP is VOC's (all-point interpolated) area under the PR curve.
"""
import glob
import os

import numpy as np

from core.common.boxes import iou_matrix
from core.common.fileio import FormatError, atomic_write, parse_floats, split_path, where
from core.recipes.cascade_settings import DEFAULTS
from core.common.errors import InputError

SETTINGS = ('easy', 'medium', 'hard')
DEV_SETTINGS = ('dev', 'dev40')
THRESH_NUM = 1000
IOU_THRESH = 0.5


# --- ground truth --------------------------------------------------------------------------------

def load_ground_truth(gt_dir):
    """{event: {image name: (boxes N×4 xywh, {setting: 1-based counted indices})}} from the .mat files."""
    from scipy.io import loadmat
    main = os.path.join(gt_dir, 'wider_face_val.mat')
    if not os.path.isfile(main):
        raise FileNotFoundError('WIDER ground truth not found: %s' % main)
    try:
        gt = loadmat(main)
        lists = {}
        for s in SETTINGS:
            path = os.path.join(gt_dir, 'wider_%s_val.mat' % s)
            if not os.path.isfile(path):
                raise FileNotFoundError('WIDER difficulty list not found: %s' % path)
            lists[s] = loadmat(path)['gt_list']
        out = {}
        for i, ev in enumerate(gt['event_list']):
            files, faces = gt['file_list'][i][0], gt['face_bbx_list'][i][0]
            images = {}
            for j in range(len(files)):
                keep = {s: np.asarray(lists[s][i][0][j][0], dtype=np.int64).ravel() for s in SETTINGS}
                images[str(files[j][0][0])] = (np.asarray(faces[j][0], dtype=np.float64).reshape(-1, 4), keep)
            out[str(ev[0][0])] = images
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise FormatError('%s: not a WIDER FACE ground-truth file (%s: %s)' % (gt_dir, type(exc).__name__, exc))
    return out


def event_and_name(path):
    """(event folder, image name without extension) of an image path."""
    return os.path.basename(os.path.dirname(path)), os.path.splitext(os.path.basename(path))[0]


def ground_truth_from_anno(anno, min_face=DEFAULTS.min_face, label='dev'):
    """Ground truth of the images of an annotation list ``[(path, boxes x1 y1 x2 y2)]`` (see
    :func:`prepare_data.wider.read_anno`) with two settings: ``<label>`` (faces of at least
    ``min_face``) and ``<label>40``; also returns ``{(event, name): path}`` to run a detector on."""
    out, paths = {}, {}
    for path, boxes in anno:
        event, name = event_and_name(path)
        xywh = np.c_[boxes[:, :2], boxes[:, 2:4] - boxes[:, :2]] if len(boxes) else np.zeros((0, 4))
        side = xywh[:, 2:4].max(1) if len(xywh) else np.zeros(0)
        keep = {label: np.where(side >= min_face)[0] + 1, label + '40': np.where(side >= 40)[0] + 1}
        out.setdefault(event, {})[name] = (xywh, keep)
        paths[(event, name)] = path
    return out, paths


# --- predictions ---------------------------------------------------------------------------------

def read_prediction(path):
    """Boxes N×5 (x y w h score) of one prediction file; malformed, non-finite or negative-size
    values and a count that does not match the lines are errors naming file:line."""
    with open(path) as f:
        lines = [ln.strip() for ln in f]
    while lines and not lines[-1]:
        lines.pop()
    if len(lines) < 2:
        raise FormatError('%s: expected the image name and a count on the first two lines' % path)
    try:
        count = int(lines[1])
    except ValueError:
        raise FormatError('%s: expected a box count, got %r' % (where(path, 2), lines[1]))
    if count < 0 or count != len(lines) - 2:
        raise FormatError('%s: the count says %d boxes, the file has %d box lines' % (where(path, 2), count,
                                                                                      len(lines) - 2))
    rows = []
    for k, ln in enumerate(lines[2:], start=3):
        parts = ln.split()
        if len(parts) != 5:
            raise FormatError('%s: expected "x y w h score", got %r' % (where(path, k), ln))
        row = parse_floats(parts, path, k)
        if row[2] < 0 or row[3] < 0:
            raise FormatError('%s: negative box width or height' % where(path, k))
        if abs(row[4]) > 1e6:
            raise FormatError('%s: implausible score %g' % (where(path, k), row[4]))
        rows.append(row)
    return np.asarray(rows, dtype=np.float64).reshape(-1, 5)


def write_prediction(path, name, boxes, scores):
    """Write one prediction file (x y w h score from x1 y1 x2 y2 boxes), atomically."""
    with atomic_write(path) as f:
        f.write('%s\n%d\n' % (name, len(boxes)))
        for b, s in zip(boxes, scores):
            f.write('%.2f %.2f %.2f %.2f %.6f\n' % (b[0], b[1], b[2] - b[0], b[3] - b[1], s))


def load_predictions(pred_dir, events):
    """{event: {name: N×5}}; images without a file get no detections."""
    preds = {}
    for event in events:
        preds[event] = {}
        for path in glob.glob(os.path.join(pred_dir, event, '*.txt')):
            preds[event][os.path.splitext(os.path.basename(path))[0]] = read_prediction(path)
    return preds


# --- the protocol ----------------------------------------------------------------------------------

def image_eval(pred, gt, counted):
    """Per-detection cumulative recall and proposal flags for one image (``pred`` sorted by score).

    ``counted``: bool per GT face; a detection whose best match (IoU ≥ 0.5) is an uncounted face is
    removed from the proposals; a second detection of a recalled face adds nothing.
    """
    p = pred[:, :4].copy()
    p[:, 2:] += p[:, :2]
    g = gt.copy()
    g[:, 2:] += g[:, :2]
    ovr = iou_matrix(p, g)
    recalled = np.zeros(len(g), dtype=np.int64)
    proposal = np.ones(len(p), dtype=bool)
    pred_recall = np.zeros(len(p))
    n_recalled = 0
    for h in range(len(p)):
        j = int(np.argmax(ovr[h]))
        if ovr[h, j] >= IOU_THRESH:
            if not counted[j]:
                recalled[j] = -1
                proposal[h] = False
            elif recalled[j] == 0:
                recalled[j] = 1
                n_recalled += 1
        pred_recall[h] = n_recalled
    return pred_recall, proposal


def image_pr(scores, proposal, pred_recall):
    """(proposals, recalled) at each of the 1000 thresholds 1 − (t+1)/1000."""
    thresh = 1 - (np.arange(THRESH_NUM) + 1) / float(THRESH_NUM)
    n_above = np.searchsorted(-scores, -thresh, side='right')  # scores sorted descending
    cum_prop = np.concatenate([[0], np.cumsum(proposal)])
    out = np.zeros((THRESH_NUM, 2))
    has = n_above > 0
    out[has, 0] = cum_prop[n_above[has]]
    out[has, 1] = pred_recall[n_above[has] - 1]
    return out


def voc_ap(rec, prec):
    mrec = np.concatenate(([0.], rec, [1.]))
    mpre = np.concatenate(([0.], prec, [0.]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def _score_range(preds, events):
    scores = [p[:, 4] for e in events for p in preds.get(e, {}).values() if len(p)]
    if not scores:
        return 0.0, 1.0
    cat = np.concatenate(scores)
    lo, hi = float(cat.min()), float(cat.max())
    return lo, (hi - lo) if hi > lo else 1.0


def _setting_pr(preds, gt, events, setting, lo, scale):
    pr, count = np.zeros((THRESH_NUM, 2)), 0
    for e in events:
        for name, (boxes, keep) in gt[e].items():
            count += len(keep[setting])
            pred = preds.get(e, {}).get(name)
            if pred is None or len(pred) == 0 or len(boxes) == 0:
                continue
            pred = pred[np.argsort(-pred[:, 4], kind='stable')].copy()
            pred[:, 4] = (pred[:, 4] - lo) / scale
            counted = np.zeros(len(boxes), dtype=bool)
            if len(keep[setting]):
                counted[keep[setting] - 1] = True
            rec, prop = image_eval(pred, boxes, counted)
            pr += image_pr(pred[:, 4], prop, rec)
    return pr, count


def evaluate(preds, gt, events=None):
    """AP per setting and the PR curves: ({setting: ap}, {setting: (recall, precision)}, counts).
    The settings are those of the ground truth (easy/medium/hard, or dev/dev40)."""
    events = sorted(events if events is not None else preds)
    missing = [e for e in events if e not in gt]
    if missing:
        raise InputError('events not in the ground truth: %s' % ', '.join(missing))
    settings = next((tuple(keep) for e in events for _, keep in gt[e].values()), SETTINGS)
    lo, scale = _score_range(preds, events)
    aps, curves, counts = {}, {}, {}
    for s in settings:
        pr, count = _setting_pr(preds, gt, events, s, lo, scale)
        precision = np.where(pr[:, 0] > 0, pr[:, 1] / np.maximum(pr[:, 0], 1e-12), 0.0)
        recall = pr[:, 1] / max(count, 1)
        aps[s], curves[s], counts[s] = voc_ap(recall, precision), (recall, precision), count
    return aps, curves, counts


def pr_at(preds, gt, events, setting, thresholds):
    """(precision, recall) of the detections scoring at least each of ``thresholds`` (raw scores):
    an operating point's figures, with the protocol's matching (IoU 0.5, a face recalled once,
    detections of uncounted faces ignored)."""
    thresholds = np.asarray(thresholds, np.float64)
    proposals, recalled, count = np.zeros(len(thresholds)), np.zeros(len(thresholds)), 0
    for e in events:
        for name, (boxes, keep) in gt[e].items():
            count += len(keep[setting])
            pred = preds.get(e, {}).get(name)
            if pred is None or len(pred) == 0 or len(boxes) == 0:  # as the official protocol
                continue
            pred = pred[np.argsort(-pred[:, 4], kind='stable')]
            counted = np.zeros(len(boxes), dtype=bool)
            if len(keep[setting]):
                counted[keep[setting] - 1] = True
            rec, prop = image_eval(pred, boxes, counted)
            n_above = np.searchsorted(-pred[:, 4], -thresholds, side='right')
            proposals += np.concatenate([[0], np.cumsum(prop)])[n_above]
            recalled += np.where(n_above > 0, rec[np.maximum(n_above - 1, 0)], 0)
    precision = np.where(proposals > 0, recalled / np.maximum(proposals, 1), 1.0)
    return precision, recalled / max(count, 1)


# --- running a detector ----------------------------------------------------------------------------

def present_events(image_root, gt):
    return sorted(e for e in gt if os.path.isdir(os.path.join(image_root, e)))


def run_detector(det, images, pred_dir, desc='detect'):
    """Detect on ``images`` (``{(event, name): path}``) and write the official prediction layout;
    returns the messages of the images that could not be read (they get no prediction file: no
    detections), which it also reports on the console."""
    from tqdm import tqdm
    from core.common.image import ImageError, read_image
    skipped = []
    for (event, name), path in tqdm(sorted(images.items()), desc=desc, unit='img'):
        try:
            img = read_image(path)
        except ImageError as exc:
            skipped.append(str(exc))
            continue
        boxes, scores, _ = det.detect(img)
        write_prediction(os.path.join(pred_dir, event, name + '.txt'), name, boxes, scores)
    if skipped:
        print('warning: %d of %d images could not be read (no detections for them), e.g. %s'
              % (len(skipped), len(images), '; '.join(skipped[:3])), flush=True)
    return skipped


def official_images(image_root, gt, events):
    return {(e, n): os.path.join(image_root, e, n + '.jpg') for e in events for n in gt[e]}
