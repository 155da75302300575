"""WIDER FACE evaluation with the official semantics (docs/peers.md §4.3), pure numpy.

Evaluate a prediction folder (one ``event/name.txt`` per image: name, count, ``x y w h score``):

    python tools/eval_wider.py --pred_dir runs/wider_pred --gt_dir GT --image_root ROOT

or run a detector first (demo.py model flags) and evaluate its predictions:

    python tools/eval_wider.py --prefix P,R,O --epoch 16,16,16 --gt_dir GT --image_root ROOT

GT is the folder of ``wider_face_val.mat`` and ``wider_{easy,medium,hard}_val.mat``; ROOT is
``WIDER_val/images``. Only the events present under ROOT (or in the prediction folder) count,
so a subset of WIDER val is evaluated as that subset. Ends with ``easy=.. medium=.. hard=..``.
"""
import argparse
import glob
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from core.boxes import iou_matrix  # noqa: E402
from tools.common import add_detector_args, config  # noqa: E402

SETTINGS = ('easy', 'medium', 'hard')
THRESH_NUM = 1000
IOU_THRESH = 0.5


# --- ground truth and predictions --------------------------------------------------------------

def load_ground_truth(gt_dir):
    """{event: {image name: (boxes N×4 xywh, {setting: 1-based kept indices})}} from the .mat files."""
    from scipy.io import loadmat
    main = os.path.join(gt_dir, 'wider_face_val.mat')
    if not os.path.isfile(main):
        raise FileNotFoundError('WIDER ground truth not found: %s' % main)
    gt = loadmat(main)
    lists = {}
    for s in SETTINGS:
        path = os.path.join(gt_dir, 'wider_%s_val.mat' % s)
        if not os.path.isfile(path):
            raise FileNotFoundError('WIDER difficulty list not found: %s' % path)
        lists[s] = loadmat(path)['gt_list']
    out = {}
    for i, ev in enumerate(gt['event_list']):
        event = str(ev[0][0])
        files, faces = gt['file_list'][i][0], gt['face_bbx_list'][i][0]
        images = {}
        for j in range(len(files)):
            name = str(files[j][0][0])
            keep = {s: np.asarray(lists[s][i][0][j][0], dtype=np.int64).ravel() for s in SETTINGS}
            images[name] = (np.asarray(faces[j][0], dtype=np.float64).reshape(-1, 4), keep)
        out[event] = images
    return out


def read_prediction(path):
    """Boxes N×5 (x y w h score) of one prediction file; a clear error on malformed lines."""
    with open(path) as f:
        lines = [ln.strip() for ln in f]
    if len(lines) < 2:
        raise ValueError('%s: expected the image name and a count on the first two lines' % path)
    try:
        count = int(float(lines[1]))
    except ValueError:
        raise ValueError('%s:2: expected a box count, got %r' % (path, lines[1]))
    rows = []
    for k, ln in enumerate(lines[2:2 + count], start=3):
        parts = ln.split()
        if len(parts) < 5:
            raise ValueError('%s:%d: expected "x y w h score", got %r' % (path, k, ln))
        rows.append([float(v) for v in parts[:5]])
    if len(rows) != count:
        raise ValueError('%s: header says %d boxes, found %d' % (path, count, len(rows)))
    return np.asarray(rows, dtype=np.float64).reshape(-1, 5)


def write_prediction(path, name, boxes, scores):
    """Write one prediction file (x y w h score from x1 y1 x2 y2 boxes), atomically."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write('%s\n%d\n' % (name, len(boxes)))
        for b, s in zip(boxes, scores):
            f.write('%.2f %.2f %.2f %.2f %.6f\n' % (b[0], b[1], b[2] - b[0], b[3] - b[1], s))
    os.replace(tmp, path)


def load_predictions(pred_dir, events):
    """{event: {name: N×5}}; images without a file get no detections."""
    preds = {}
    for event in events:
        folder = os.path.join(pred_dir, event)
        preds[event] = {}
        for path in glob.glob(os.path.join(folder, '*.txt')):
            preds[event][os.path.splitext(os.path.basename(path))[0]] = read_prediction(path)
    return preds


# --- the protocol -------------------------------------------------------------------------------

def image_eval(pred, gt, counted):
    """Per-detection cumulative recall and proposal flags for one image (``pred`` sorted by score).

    ``counted``: bool per GT face; a detection whose best match (IoU ≥ 0.5) is an uncounted
    face is removed from the proposals; a second detection of a recalled face adds nothing.
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
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = max(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def evaluate(preds, gt, events=None):
    """AP per setting and the PR curves: ({setting: ap}, {setting: (recall, precision)}, counts)."""
    events = sorted(events if events is not None else preds)
    missing = [e for e in events if e not in gt]
    if missing:
        raise ValueError('events not in the ground truth: %s' % ', '.join(missing))
    all_scores = [p[:, 4] for e in events for p in preds.get(e, {}).values() if len(p)]
    lo, hi = (0.0, 1.0)
    if all_scores:
        cat = np.concatenate(all_scores)
        lo, hi = float(cat.min()), float(cat.max())
    scale = (hi - lo) if hi > lo else 1.0
    aps, curves, counts = {}, {}, {}
    for s in SETTINGS:
        pr = np.zeros((THRESH_NUM, 2))
        count = 0
        for e in events:
            for name, (boxes, keep) in gt[e].items():
                count += len(keep[s])
                pred = preds.get(e, {}).get(name)
                if pred is None or len(pred) == 0 or len(boxes) == 0:
                    continue
                pred = pred[np.argsort(-pred[:, 4], kind='stable')].copy()
                pred[:, 4] = (pred[:, 4] - lo) / scale
                counted = np.zeros(len(boxes), dtype=bool)
                if len(keep[s]):
                    counted[keep[s] - 1] = True
                rec, prop = image_eval(pred, boxes, counted)
                pr += image_pr(pred[:, 4], prop, rec)
        with np.errstate(invalid='ignore', divide='ignore'):
            precision = np.where(pr[:, 0] > 0, pr[:, 1] / np.maximum(pr[:, 0], 1e-12), 0.0)
        recall = pr[:, 1] / max(count, 1)
        aps[s] = voc_ap(recall, precision)
        curves[s] = (recall, precision)
        counts[s] = count
    return aps, curves, counts


# --- running a detector -------------------------------------------------------------------------

def present_events(image_root, gt):
    return sorted(e for e in gt if os.path.isdir(os.path.join(image_root, e)))


def run_detector(det, image_root, events, pred_dir, gt=None):
    """Detect on every image of ``events`` under ``image_root``; write the official layout."""
    import cv2
    from tqdm import tqdm
    jobs = []
    for e in events:
        names = sorted(gt[e]) if gt else sorted(os.path.splitext(os.path.basename(p))[0]
                                                for p in glob.glob(os.path.join(image_root, e, '*.jpg')))
        jobs += [(e, n) for n in names]
    missing = 0
    for e, name in tqdm(jobs, desc='detect', unit='img'):
        path = os.path.join(image_root, e, name + '.jpg')
        img = cv2.imread(path)
        if img is None:
            missing += 1
            continue
        boxes, scores, _ = det.detect(img)
        write_prediction(os.path.join(pred_dir, e, name + '.txt'), name, boxes, scores)
    if missing:
        print('warning: %d listed images missing or unreadable under %s' % (missing, image_root))
    return len(jobs) - missing


def plot_pr(curves, aps, path, title='WIDER FACE'):
    """Precision–recall curves to a PNG (OpenCV drawing, no matplotlib needed)."""
    from core.plot import line_plot
    series = [('%s AP %.3f' % (s, aps[s]), curves[s][0], curves[s][1]) for s in SETTINGS]
    line_plot(series, path, title=title, xlabel='recall', ylabel='precision', xlim=(0.0, 1.0))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    wider = os.path.join(config.shared, 'data', 'widerface')
    ap.add_argument('--pred_dir', default=None, help='evaluate this prediction folder (no detection)')
    ap.add_argument('--gt_dir', default=os.path.join(wider, 'eval_tools', 'ground_truth'))
    ap.add_argument('--image_root', default=os.path.join(wider, 'WIDER_val', 'images'))
    ap.add_argument('--out', default=os.path.join('runs', 'eval_wider'), help='predictions and plot go here')
    add_detector_args(ap, committed_defaults=True)
    args = ap.parse_args(argv)
    try:
        gt = load_ground_truth(args.gt_dir)
    except (OSError, ValueError) as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 2
    if args.pred_dir:
        events = sorted(e for e in gt if os.path.isdir(os.path.join(args.pred_dir, e)))
        if os.path.isdir(args.image_root):
            events = sorted(set(events) | set(present_events(args.image_root, gt)))
        pred_dir = args.pred_dir
    else:
        from tools.common import build_detector
        det = build_detector(args)
        events = present_events(args.image_root, gt)
        if not events:
            print('error: no WIDER event folders under %s' % args.image_root, file=sys.stderr)
            return 2
        pred_dir = os.path.join(args.out, 'pred')
        run_detector(det, args.image_root, events, pred_dir, gt)
    if not events:
        print('error: no events found in %s' % pred_dir, file=sys.stderr)
        return 2
    try:
        preds = load_predictions(pred_dir, events)
    except ValueError as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 2
    aps, curves, counts = evaluate(preds, gt, events)
    os.makedirs(args.out, exist_ok=True)
    plot_pr(curves, aps, os.path.join(args.out, 'pr_curve.png'),
            title='WIDER val (%d events)' % len(events))
    print('events: %d (%s); counted faces: %s' % (len(events), ', '.join(events),
                                                  ' '.join('%s %d' % kv for kv in counts.items())))
    print('PR curve: %s' % os.path.join(args.out, 'pr_curve.png'))
    print('easy=%.4f medium=%.4f hard=%.4f' % (aps['easy'], aps['medium'], aps['hard']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
