"""Peer benchmark on the WIDER val subset: AP (easy/medium/hard), seconds per image and one PR plot
with every detector, one run.

    python tools/benchmark_peers.py --out runs/peers

Detectors: this project's cascade with the original's shipped models and with the committed default
models (model/default, their recorded settings); the original MTCNN Caffe models run by the same
cascade code through ``cv2.dnn``; YuNet (``cv2.FaceDetectorYN``); OpenCV's Haar cascade. Writes
``peers.md`` (a markdown table) and ``pr_curves.png`` (per setting, all detectors overlaid).
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402
from cli import config  # noqa: E402
from core.evaluation import wider_eval as W  # noqa: E402
from core.recipes.cascade_settings import DEFAULTS  # noqa: E402


class CascadeDetector:
    def __init__(self, name, det):
        self.name, self.det = name, det

    def __call__(self, img):
        boxes, scores, _ = self.det.detect(img)
        return boxes, scores


def build_detectors(args):
    from core.detect import peers
    from core.detect.cascade import default_card, build_cascade
    dets = []
    cards = [('original shipped models', default_card(prefer_committed=False), 'default')]
    cards += [('this project, model/default at the %s point' % p, default_card(point=p), p) for p in ('accurate', 'default')]
    for scheme in cli.csv_list(args.schemes, str, 'scheme'):
        for label, card, point in cards:
            settings = card.settings(point).replace('--min_face', min_face=args.min_face)
            if scheme != 'original':  # ZQCNN's flow has no Onet test-time options
                settings = settings.reset('onet_flip', 'onet_passes')
            thresh = ','.join('%g' % t for t in settings.thresh)
            det = build_cascade(card.prefix, card.epoch, card.networks, settings, backend='onnx', threads=args.threads,
                               scheme=scheme)
            name = '%s (%s)' % (label, thresh) if scheme == 'original' else '%s, --scheme %s (%s)' % (label, scheme, thresh)
            dets.append(CascadeDetector(name, det))
    caffe = peers.caffe_mtcnn(peers.CAFFE_MTCNN.replace('--min_face', min_face=args.min_face))
    if caffe is not None:
        dets.append(CascadeDetector('original MTCNN Caffe models via cv2.dnn (%s)' % ','.join(
            '%g' % t for t in peers.CAFFE_MTCNN.thresh), caffe))
    yunet = os.path.join(config.shared, 'models', 'peers', 'face_detection_yunet_2026may.onnx')
    if os.path.isfile(yunet):
        dets.append(peers.YuNet(yunet))
    dets.append(peers.Haar())
    return dets


def run_one(det, jobs, image_root):
    from tqdm import tqdm
    from core.common.image import ImageError, read_image
    preds, total = {}, 0.0
    for e, name in tqdm(jobs, desc=det.name[:30], unit='img'):
        try:
            img = read_image(os.path.join(image_root, e, name + '.jpg'))
        except ImageError:
            continue
        t0 = time.perf_counter()
        boxes, scores = det(img)
        total += time.perf_counter() - t0
        preds.setdefault(e, {})[name] = np.c_[boxes[:, :2], boxes[:, 2:4] - boxes[:, :2], scores] \
            if len(boxes) else np.zeros((0, 5))
    return preds, total / max(1, len(jobs))


def main(argv=None):
    ap = cli.parser(__doc__)
    wider = os.path.join(config.shared, 'data', 'widerface')
    ap.add_argument('--gt_dir', default=os.path.join(wider, 'eval_tools', 'ground_truth'))
    ap.add_argument('--image_root', default=os.path.join(wider, 'WIDER_val', 'images'))
    ap.add_argument('--out', default=os.path.join('runs', 'peers'))
    ap.add_argument('--min_face', type=cli.number(float, above=0), default=DEFAULTS.min_face)
    ap.add_argument('--threads', type=cli.number(int, low=1), default=2)
    ap.add_argument('--images', type=cli.number(int, low=0), default=0, help='use only the first N images (0 = all)')
    ap.add_argument('--schemes', default='original',
                    help="candidate flows of this project's cascades, e.g. original,zqcnn (see --scheme of demo.py)")
    ap.add_argument('--only', default=None, help='comma-separated substrings of detector names')
    args = ap.parse_args(argv)
    from core.common.fileio import write_lines
    from core.common.plot import pr_plot
    gt = W.load_ground_truth(args.gt_dir)
    events = W.present_events(args.image_root, gt)
    jobs = [(e, n) for e in events for n in sorted(gt[e])][:args.images or None]
    sub = {e: {n: gt[e][n] for n in gt[e] if (e, n) in set(jobs)} for e in events}
    dets = build_detectors(args)
    if args.only:
        keys = [k.strip().lower() for k in args.only.split(',')]
        dets = [d for d in dets if any(k in d.name.lower() for k in keys)]
    rows, curves = [], {}
    for det in dets:
        preds, seconds = run_one(det, jobs, args.image_root)
        aps, pr, _ = W.evaluate(preds, sub, events)
        rows.append((det.name, aps, seconds))
        curves[det.name] = (pr, aps)
        print('%s: easy=%.4f medium=%.4f hard=%.4f  %.3f s/img' % (det.name, aps['easy'], aps['medium'],
                                                                  aps['hard'], seconds))
    head = 'WIDER val %d-event subset (%d images), min face %g, single process, this CPU.' % (
        len(events), len(jobs), args.min_face)
    table = ['| detector | easy | medium | hard | s/img |', '|---|---|---|---|---|']
    table += ['| %s | %.3f | %.3f | %.3f | %.3f |' % (n, a['easy'], a['medium'], a['hard'], t) for n, a, t in rows]
    write_lines(os.path.join(args.out, 'peers.md'), [head, ''] + table)
    pr_plot(curves, os.path.join(args.out, 'pr_curves.png'), title='WIDER val subset')
    print('\n' + head + '\n\n' + '\n'.join(table))
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
