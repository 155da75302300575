"""Face detection with an exported cascade and nothing but numpy, OpenCV and its runtime (no MXNet):
ONNX Runtime, or NCNN / MNN for folders written by ``tools/export.py --to ncnn|mnn``.

    python tools/export_onnx.py --cascade --out runs/onnx_cascade        # once, where MXNet is installed
    python tools/detect_onnx.py --models runs/onnx_cascade --imgfile photo.jpg --save_dets dets.txt --out vis.jpg
    python tools/detect_onnx.py --models runs/onnx_cascade --folder photos/ --json dets.json
    python tools/detect_onnx.py --models runs/onnx_cascade --video clip.mp4 --json dets.json --every 5
    python tools/detect_onnx.py --models runs/deploy/ncnn --imgfile photo.jpg --scheme zqcnn

The folder holds ``pnet.onnx``, ``rnet.onnx``, ``onet.onnx`` (optionally ``lnet.onnx``) and
``cascade.json`` (thresholds, minimum face, pyramid factor, Pnet cell and stride, preprocessing, the
runtime; NCNN folders hold ``.param``/``.bin`` pairs, MNN folders ``.mnn`` files). The
cascade logic is this project's detector (core/detector.py), so the boxes are those of ``demo.py``
with the same models and settings. ``--save_dets`` writes ``x1 y1 x2 y2 score`` lines (one image);
``--json`` writes every image's (or video frame's) boxes, scores and landmarks.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from core.detect.detector import draw  # noqa: E402  (numpy + OpenCV only)
from core.common.errors import InputError  # noqa: E402
from core.common.fileio import FormatError, atomic_write, write_lines  # noqa: E402
from core.common.image import MAX_PIXELS, ImageError, check_size, read_image, write_image  # noqa: E402
from core.runtime.mobile_runtime import open_stage  # noqa: E402
from core.detect.zqcnn_scheme import SCHEMES  # noqa: E402
from core.recipes.cascade_settings import DEFAULTS, stage_thresholds  # noqa: E402
from core.common.errors import SettingError  # noqa: E402

IMAGE_TYPES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


def load_onnx_cascade(folder, threads=2, scheme='original', **overrides):
    """An :class:`MtcnnDetector` from an exported cascade folder (see tools/export_onnx.py --cascade);
    ``scheme='zqcnn'``: ZQCNN's candidate flow (:class:`core.detect.zqcnn_scheme.ZqcnnDetector`, which also
    takes ``nms``)."""
    if scheme not in SCHEMES:
        raise SettingError('unknown scheme %r (%s)' % (scheme, ', '.join(SCHEMES)))
    path = os.path.join(folder, 'cascade.json')
    if not os.path.isfile(path):
        raise FileNotFoundError('%s: not found (export a cascade with tools/export_onnx.py --cascade)' % path)
    with open(path) as f:
        card = json.load(f)
    runtime = card.get('runtime', 'onnxruntime')
    models = {stage: open_stage(folder, entry, runtime, threads) for stage, entry in card['stages'].items()}
    if 'pnet' not in models:
        raise FormatError('%s: the cascade has no Pnet' % path)
    settings = DEFAULTS.replace(path, thresh=card.get('thresh'), min_face=card.get('min_face'),
                                factor=card.get('factor'),
                                lnet_flip=bool(card.get('lnet_flip')) and scheme == 'original')  # ZQCNN: one pass
    n_stages = sum(1 for stage in ('pnet', 'rnet', 'onet') if stage in models)
    for k, v in overrides.items():  # flags: each checked, thresholds one per stage
        if v is not None and k != 'nms':
            v = stage_thresholds(v, n_stages, '--thresh') if k == 'thresh' else v
            settings = settings.replace('--' + k, **{k: v})
    nms = {'nms': overrides['nms']} if overrides.get('nms') is not None else {}
    return SCHEMES[scheme](models['pnet'], models.get('rnet'), models.get('onet'), lnet=models.get('lnet'),
                           settings=settings, **nms)


def _result(det, img):
    boxes, scores, points = det.detect(img)
    return dict(boxes=[[round(float(v), 2) for v in b] for b in boxes], scores=[round(float(s), 5) for s in scores],
                landmarks=None if points is None else [[[round(float(v), 2) for v in p] for p in pts]
                                                       for pts in points]), (boxes, scores, points)


def _median_ms(det, img, runs, warmup=3):
    import time
    times = []
    for k in range(warmup + runs):
        t0 = time.perf_counter()
        det.detect(img)
        if k >= warmup:
            times.append(1000 * (time.perf_counter() - t0))
    times.sort()
    return times[len(times) // 2] if runs % 2 else 0.5 * (times[runs // 2 - 1] + times[runs // 2])


def _images(args):
    if args.imgfile:
        return [args.imgfile]
    if not os.path.isdir(args.folder):
        raise FileNotFoundError('--folder: no such folder: %s' % args.folder)
    names = sorted(n for n in os.listdir(args.folder) if n.lower().endswith(IMAGE_TYPES))
    if not names:
        raise FileNotFoundError('%s: no images (%s)' % (args.folder, ', '.join(IMAGE_TYPES)))
    return [os.path.join(args.folder, n) for n in names]


def _frames(args):
    """(frame number, frame) of every ``--every``-th frame of the video."""
    import cv2
    cap = cv2.VideoCapture(args.video)
    if not cap.isOpened():
        raise ImageError('%s: cannot open the video' % args.video)
    k = 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if k % args.every == 0:
                yield k, frame
            k += 1
    finally:
        cap.release()


class Results:
    """Results as they arrive: ``.jsonl`` (one JSON line per image, flushed as it comes; a rerun skips the
    images already there) or ``.json`` (one list, written atomically at the end, also after a skip or an
    interrupt); images that cannot be read are counted and named."""

    def __init__(self, path):
        self.path, self.items, self.skipped, self.done = path, [], [], set()
        self.lines = path is not None and path.endswith('.jsonl')
        self._file = None
        if self.lines and os.path.isfile(path):
            with open(path) as f:
                for k, line in enumerate(f, 1):
                    try:
                        self.done.add(json.loads(line).get('image'))
                    except (ValueError, AttributeError):
                        raise FormatError('%s:%d: not a result line of this tool (move it away to start over)'
                                          % (path, k))
        if self.lines:
            self._file = open(path, 'a')

    def add(self, item):
        if self._file:
            self._file.write(json.dumps(item) + '\n')
            self._file.flush()
        else:
            self.items.append(item)

    def close(self):
        if self._file:
            self._file.close()
        elif self.path:
            with atomic_write(self.path) as f:
                json.dump(self.items, f, indent=1)


def _one_image(det, args, path, results):
    img = read_image(path, args.max_pixels)
    res, (boxes, scores, points) = _result(det, img)
    results.add(dict(image=path, **res))
    print('%s: %d faces' % (path, len(boxes)))
    if args.imgfile and args.save_dets:
        write_lines(args.save_dets, ['%.2f %.2f %.2f %.2f %.5f' % (b[0], b[1], b[2], b[3], s)
                                     for b, s in zip(boxes, scores)])
    if args.imgfile and args.out:
        write_image(args.out, draw(img, boxes, scores, points))
    if args.imgfile and args.runs > 0:
        print('median_ms=%.3f' % _median_ms(det, img, args.runs))


def detect_all(det, args, results):
    """Every image of ``--imgfile``/``--folder`` or frame of ``--video``; an image that cannot be read is a
    counted skip in a folder (an error for one image)."""
    if args.video:
        n, faces = 0, 0
        for k, frame in _frames(args):
            res, _ = _result(det, check_size(frame, args.video, args.max_pixels))
            results.add(dict(frame=k, **res))
            n, faces = n + 1, faces + len(res['boxes'])
        print('%s: %d frames detected, %d faces' % (args.video, n, faces))
        return
    todo = [p for p in _images(args) if p not in results.done]
    if results.done:
        print('%s: %d images already done, %d to go' % (results.path, len(results.done), len(todo)))
    for path in todo:
        try:
            _one_image(det, args, path, results)
        except ImageError as exc:
            if args.imgfile:
                raise
            results.skipped.append(str(exc))


def _parser():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--models', required=True, help='exported cascade folder (cascade.json + .onnx files)')
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument('--imgfile', help='one image')
    src.add_argument('--folder', help='every image in a folder')
    src.add_argument('--video', help='a video file (frames read with OpenCV)')
    ap.add_argument('--every', type=_positive, default=1, help='video: detect every N-th frame (default: 1)')
    ap.add_argument('--save_dets', default=None, help='one image: write "x1 y1 x2 y2 score" lines here')
    ap.add_argument('--json', default=None, help='write the results (boxes, scores, landmarks) here: .json for one '
                    'list at the end, .jsonl for a line per image as it is done (a rerun skips those)')
    ap.add_argument('--out', default=None, help='one image: write an annotated copy here')
    ap.add_argument('--thresh', default=None, help='override the stage thresholds, e.g. 0.6,0.7,0.7')
    ap.add_argument('--min_face', default=None, help="override the minimum face (default: the cascade's)")
    ap.add_argument('--threads', type=_positive, default=2, help='runtime threads (default: 2)')
    ap.add_argument('--scheme', choices=sorted(SCHEMES), default='original',
                    help="candidate flow: the training toolkit's (original, default) or ZQCNN's C++ MTCNN's (zqcnn)")
    ap.add_argument('--nms', default=None, help='zqcnn scheme: NMS thresholds of the three stages (default 0.4,0.5,0.5)')
    ap.add_argument('--runs', type=int, default=0,
                    help='one image: detect it this many more times and print median_ms=<float> (pin with taskset)')
    ap.add_argument('--max_pixels', type=int, default=MAX_PIXELS, help='refuse larger images (0 = no limit)')
    return ap


def _positive(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError('%r is not a whole number of at least 1' % text)
    return int(text)


def main(argv=None):
    args = _parser().parse_args(argv)
    results = None
    try:
        if args.nms and args.scheme != 'zqcnn':
            raise SettingError('--nms applies to --scheme zqcnn only')
        nms = dict(nms=[float(t) for t in args.nms.split(',')]) if args.nms else {}
        det = load_onnx_cascade(args.models, args.threads, args.scheme, thresh=args.thresh, min_face=args.min_face,
                                **nms)
        results = Results(args.json)
        detect_all(det, args, results)
    except KeyboardInterrupt:
        print('\ninterrupted; the results so far are in %s' % args.json if args.json else '\ninterrupted',
              file=sys.stderr)
        return 130
    except (InputError, OSError) as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 2
    except Exception:  # noqa: BLE001 - a bug: shown whole, and called one
        import traceback
        traceback.print_exc()
        print('error: the above is a bug in train-mtcnn, not a problem with your input; please report it with the '
              'command line and the traceback', file=sys.stderr)
        return 3
    finally:
        if results is not None:
            results.close()
    if results.skipped:
        print('warning: skipped %d image(s) that could not be read, e.g. %s' % (
            len(results.skipped), '; '.join(results.skipped[:3])), file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
