"""Peer benchmark on the WIDER val subset: AP (easy/medium/hard) and seconds per image, one run.

    python tools/benchmark_peers.py --out runs/peers

Detectors: this project's cascade with the original's shipped models (and with the project's own
trained models under model/ when present); the original MTCNN Caffe models (Zhang et al.) run by
the same cascade code through ``cv2.dnn``; YuNet (``cv2.FaceDetectorYN``); OpenCV's Haar cascade.
Writes ``peers.md`` (a markdown table) and each detector's predictions in the official layout.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from config import config  # noqa: E402
from tools import eval_wider as ew  # noqa: E402


class CaffeStage:
    """One original MTCNN Caffe net behind the ``InferenceModel`` call interface.

    Those nets take transposed RGB images (MATLAB's column-major layout): inputs are converted and
    the Pnet maps transposed back; their box offsets and landmarks already come in image x/y order
    (checked on 4.jpg: swapping them gives wide boxes and misses faces)."""

    def __init__(self, prototxt, caffemodel, kind, size, cell=None, stride=None):
        import cv2
        self.net = cv2.dnn.readNetFromCaffe(prototxt, caffemodel)
        self.kind = kind
        self.info = dict(kind=kind, size=size, n_points=5 if kind == 'onet' else 0)
        if kind == 'pnet':
            self.info.update(cell=cell, stride=stride)
        self.outs = {'pnet': ['prob1', 'conv4-2'], 'rnet': ['prob1', 'conv5-2'],
                     'onet': ['prob1', 'conv6-2', 'conv6-3']}[kind]
        self.network = 'caffe-' + kind

    def __call__(self, batch):
        x = np.ascontiguousarray(batch[:, ::-1].transpose(0, 1, 3, 2))
        self.net.setInput(x)
        outs = self.net.forward(self.outs)
        if self.kind == 'pnet':
            return [outs[0].transpose(0, 1, 3, 2), outs[1].transpose(0, 1, 3, 2)]
        return [o.reshape(len(x), -1) for o in outs]


class CascadeDetector:
    def __init__(self, name, det):
        self.name, self.det = name, det

    def __call__(self, img):
        boxes, scores, _ = self.det.detect(img)
        return boxes, scores


class YuNet:
    name = 'YuNet (cv2.FaceDetectorYN)'

    def __init__(self, model, score=0.3, nms=0.3):
        import cv2
        self.det = cv2.FaceDetectorYN.create(model, '', (320, 320), score, nms, 5000)

    def __call__(self, img):
        self.det.setInputSize((img.shape[1], img.shape[0]))
        _, faces = self.det.detect(img)
        if faces is None:
            return np.zeros((0, 4)), np.zeros(0)
        b = faces[:, :4].astype(np.float64)
        return np.c_[b[:, :2], b[:, :2] + b[:, 2:4]], faces[:, -1].astype(np.float64)


class Haar:
    name = 'OpenCV Haar (frontalface_default)'

    def __init__(self):
        import cv2
        self.cv2 = cv2
        self.det = cv2.CascadeClassifier(os.path.join(cv2.data.haarcascades,
                                                      'haarcascade_frontalface_default.xml'))

    def __call__(self, img):
        gray = self.cv2.cvtColor(img, self.cv2.COLOR_BGR2GRAY)
        rects, _, weights = self.det.detectMultiScale3(gray, scaleFactor=1.1, minNeighbors=3,
                                                       minSize=(16, 16), outputRejectLevels=True)
        if len(rects) == 0:
            return np.zeros((0, 4)), np.zeros(0)
        r = np.asarray(rects, np.float64)
        return np.c_[r[:, :2], r[:, :2] + r[:, 2:]], np.asarray(weights, np.float64).ravel()


def build_detectors(args):
    import cv2
    from core.detector import MtcnnDetector
    from core.model_io import load_model
    from core.onnx_backend import to_onnx_model
    dets = []
    shipped = os.path.join(config.shared, 'models', 'train-mtcnn')
    sets = [('this project, original shipped models (%s)' % args.shipped_thresh,
             [os.path.join(shipped, p) for p in ('pnet20_v1', 'rnet_v1', 'onet_v1')], args.shipped_thresh)]
    own = [os.path.join(config.root, 'model', p) for p in ('pnet20', 'rnet', 'onet')]
    if all(os.path.isfile(p + '-symbol.json') for p in own):
        sets.append(('this project, own trained models (%s)' % args.own_thresh, own, args.own_thresh))
    for name, prefixes, thresh in sets:
        models = [to_onnx_model(load_model(p, 16), threads=args.threads) for p in prefixes]
        dets.append(CascadeDetector(name, MtcnnDetector(*models, min_face=args.min_face,
                                                        thresh=[float(t) for t in thresh.split(',')])))
    caffe = os.path.join(config.shared, 'models', 'caffe-mtcnn')
    if os.path.isdir(caffe):
        stages = [CaffeStage(os.path.join(caffe, 'det%d.prototxt' % i), os.path.join(caffe, 'det%d.caffemodel' % i),
                             kind, size, **kw)
                  for i, kind, size, kw in ((1, 'pnet', 12, dict(cell=12, stride=2)), (2, 'rnet', 24, {}),
                                            (3, 'onet', 48, {}))]
        # area resampling as in the canonical MTCNN ports (MATLAB imresample / cv2.INTER_AREA)
        dets.append(CascadeDetector('original MTCNN Caffe models via cv2.dnn (0.6,0.7,0.7)',
                                    MtcnnDetector(*stages, min_face=args.min_face, thresh=(0.6, 0.7, 0.7),
                                                  interp=cv2.INTER_AREA)))
    yunet = os.path.join(config.shared, 'models', 'peers', 'face_detection_yunet_2026may.onnx')
    if os.path.isfile(yunet):
        dets.append(YuNet(yunet))
    dets.append(Haar())
    return dets


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    wider = os.path.join(config.shared, 'data', 'widerface')
    ap.add_argument('--gt_dir', default=os.path.join(wider, 'eval_tools', 'ground_truth'))
    ap.add_argument('--image_root', default=os.path.join(wider, 'WIDER_val', 'images'))
    ap.add_argument('--out', default=os.path.join('runs', 'peers'))
    ap.add_argument('--min_face', type=float, default=20)
    ap.add_argument('--shipped_thresh', default='0.5,0.5,0.7')
    ap.add_argument('--own_thresh', default='0.5,0.5,0.7')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--images', type=int, default=0, help='use only the first N images (0 = all)')
    ap.add_argument('--only', default=None, help='comma-separated substrings of detector names')
    args = ap.parse_args(argv)
    import cv2
    from tqdm import tqdm
    gt = ew.load_ground_truth(args.gt_dir)
    events = ew.present_events(args.image_root, gt)
    jobs = [(e, n) for e in events for n in sorted(gt[e])]
    if args.images:
        jobs = jobs[:args.images]
    images = {}
    rows = []
    dets = build_detectors(args)
    if args.only:
        keys = [k.strip().lower() for k in args.only.split(',')]
        dets = [d for d in dets if any(k in d.name.lower() for k in keys)]
    for det in dets:
        preds, total = {}, 0.0
        for e, name in tqdm(jobs, desc=det.name[:30], unit='img'):
            key = (e, name)
            if key not in images:
                images[key] = cv2.imread(os.path.join(args.image_root, e, name + '.jpg'))
            img = images[key]
            if img is None:
                continue
            t0 = time.perf_counter()
            boxes, scores = det(img)
            total += time.perf_counter() - t0
            preds.setdefault(e, {})[name] = np.c_[boxes[:, :2], boxes[:, 2:4] - boxes[:, :2], scores] \
                if len(boxes) else np.zeros((0, 5))
        sub = {e: {n: gt[e][n] for n in gt[e] if (e, n) in set(jobs)} for e in events}
        aps, _, _ = ew.evaluate(preds, sub, events)
        rows.append((det.name, aps, total / max(1, len(jobs))))
        print('%s: easy=%.4f medium=%.4f hard=%.4f  %.3f s/img' % (det.name, aps['easy'], aps['medium'],
                                                                  aps['hard'], total / max(1, len(jobs))))
    os.makedirs(args.out, exist_ok=True)
    table = ['| detector | easy | medium | hard | s/img |', '|---|---|---|---|---|']
    table += ['| %s | %.3f | %.3f | %.3f | %.3f |' % (n, a['easy'], a['medium'], a['hard'], t) for n, a, t in rows]
    head = 'WIDER val %d-event subset (%d images), min face %g, single process, this CPU.\n\n' % (
        len(events), len(jobs), args.min_face)
    with open(os.path.join(args.out, 'peers.md'), 'w') as f:
        f.write(head + '\n'.join(table) + '\n')
    print('\n' + head + '\n'.join(table))
    return 0


if __name__ == '__main__':
    sys.exit(main())
