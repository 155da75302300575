"""Face detection with an exported cascade and nothing but numpy, OpenCV and its runtime (no MXNet):
ONNX Runtime, or NCNN / MNN for folders written by ``tools/export.py --to ncnn|mnn``.

    python tools/export.py --to onnx --out runs/deploy/onnx              # once, where MXNet is installed
    python tools/detect_onnx.py --models runs/deploy/onnx --imgfile photo.jpg --save_dets dets.txt --out vis.jpg
    python tools/detect_onnx.py --models runs/deploy/onnx --folder photos/ --align 112 --json faces.jsonl
    python tools/detect_onnx.py --models runs/deploy/onnx --video clip.mp4 --json frames.json --every 5
    python tools/detect_onnx.py --models runs/deploy/ncnn --imgfile photo.jpg --scheme zqcnn

The folder holds ``pnet.onnx``, ``rnet.onnx``, ``onet.onnx`` (optionally ``lnet.onnx``) and
``cascade.json`` (thresholds, minimum face, pyramid factor, Pnet cell and stride, preprocessing, the
runtime; NCNN folders hold ``.param``/``.bin`` pairs, MNN folders ``.mnn`` files). The cascade logic is
this project's detector (``core/detect/detector.py``), so the boxes are those of ``demo.py`` with the same
models and settings. ``--save_dets`` writes ``x1 y1 x2 y2 score`` lines (one image); ``--json`` every
image's (or video frame's) boxes, scores and landmarks: ``.json`` one list at the end, ``.jsonl`` a line
per image as it is done (a rerun skips those). ``--align 112`` (or ``96x112``, or N) also writes each
face's aligned crop for recognition (its 5 points onto the template) into ``--crops`` (default: beside
``--json``) and lists them in the JSON. A folder runs on ``--workers`` processes with a progress bar; an
image that cannot be read is skipped, counted and named.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from core.detect.detector import draw  # noqa: E402  (numpy + OpenCV only)
from core.common.errors import InputError, SettingError  # noqa: E402
from core.common.fileio import FormatError, atomic_write, write_lines  # noqa: E402
from core.common.image import MAX_PIXELS, ImageError, check_size, read_image, write_image  # noqa: E402
from core.detect.zqcnn_scheme import SCHEMES  # noqa: E402

IMAGE_TYPES = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


def load_onnx_cascade(folder, threads=2, scheme='original', **overrides):
    """An :class:`MtcnnDetector` from an exported cascade folder (see :func:`core.detect.faces.open_exported`)."""
    from core.detect.faces import open_exported
    return open_exported(folder, threads, scheme, **overrides)


def _record(res):
    boxes, scores, points = res
    return dict(boxes=[[round(float(v), 2) for v in b] for b in boxes], scores=[round(float(s), 5) for s in scores],
                landmarks=None if points is None else [[[round(float(v), 2) for v in p] for p in pts]
                                                       for pts in points])


def _crops(img, res, align, crops_dir, stem):
    """Write the aligned crop of every face with points; their paths."""
    from core.detect.alignment import align as warp
    _, _, points = res
    out = []
    for k, pts in enumerate(points if points is not None else []):
        path = os.path.join(crops_dir, '%s_%d.png' % (stem, k))
        write_image(path, warp(img, pts, align))
        out.append(path)
    return out


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


# --- a folder on several processes ---------------------------------------------------------------------------

_WORKER = {}


def _init_worker(models, scheme, overrides, options, starter_dir):
    from core.common.lifecycle import die_with_starter
    die_with_starter(starter_dir)  # the starter's folder, not one of our own: a terminated worker leaves none
    _WORKER.update(det=load_onnx_cascade(models, 1, scheme, **overrides), options=options)


def _detect_paths(det, paths, opt, strict=False, each=None):
    """[(path, record or None, skip message or None)] of a few images: one batch through the cascade
    (:meth:`detect_batch`). ``strict``: an unreadable image raises instead of being skipped; ``each(img,
    result)`` is called for every image detected."""
    out, imgs = {}, []
    for path in paths:
        try:
            imgs.append((path, read_image(path, opt['max_pixels'])))
        except ImageError as exc:
            if strict:
                raise
            out[path] = (path, None, str(exc))
    for (path, img), res in zip(imgs, det.detect_batch([im for _, im in imgs]) if imgs else []):
        rec = dict(image=path, **_record(res))
        if opt['align']:
            rec['crops'] = _crops(img, res, opt['align'], opt['crops'], os.path.splitext(os.path.basename(path))[0])
        if each:
            each(img, res)
        out[path] = (path, rec, None)
    return [out[p] for p in paths]


def _work(paths):
    """:func:`_detect_paths` in a worker."""
    return _detect_paths(_WORKER['det'], paths, _WORKER['options'])


def _options(args):
    return dict(max_pixels=args.max_pixels, align=args.align, crops=args.crops)


def _pool_results(args, todo, overrides):
    from core.common.lifecycle import mp_temp_dir, worker_context
    pool = worker_context().Pool(args.workers, initializer=_init_worker,
                                 initargs=(args.models, args.scheme, overrides, _options(args), mp_temp_dir()))
    chunks = [todo[i:i + args.batch] for i in range(0, len(todo), args.batch)]
    try:
        for part in pool.imap(_work, chunks, chunksize=1):
            yield from part
    finally:
        pool.terminate()
        pool.join()


def _local_results(det, args, todo):
    """(path, record, skip message) of each image, in this process, in batches of ``--batch``."""
    options = _options(args)
    for start in range(0, len(todo), args.batch):
        yield from _detect_paths(det, todo[start:start + args.batch], options, strict=bool(args.imgfile),
                                 each=lambda img, res: _single_image_outputs(det, args, img, res))


def _single_image_outputs(det, args, img, res):
    if not args.imgfile:
        return
    boxes, scores, points = res
    if args.save_dets:
        write_lines(args.save_dets, ['%.2f %.2f %.2f %.2f %.5f' % (b[0], b[1], b[2], b[3], s)
                                     for b, s in zip(boxes, scores)])
    if args.out:
        write_image(args.out, draw(img, boxes, scores, points))
    if args.runs > 0:
        print('median_ms=%.3f' % _median_ms(det, img, args.runs))


def _progress(stream, total, show):
    """A progress bar over a folder's images where ``tqdm`` is installed (the deployed folder needs only
    numpy, OpenCV and ONNX Runtime)."""
    if show:
        try:
            from tqdm import tqdm
            return tqdm(stream, total=total, desc='detect', unit='img')
        except ImportError:
            pass
    return stream


def detect_all(det, args, results, overrides=None):
    """Every image of ``--imgfile``/``--folder`` (a pool of ``--workers`` processes for a folder) or frame of
    ``--video``; an image of a folder that cannot be read is a counted skip (an error for one image)."""
    if args.video:
        n, faces = 0, 0
        for k, frame in _frames(args):
            res = det.detect(check_size(frame, args.video, args.max_pixels))
            results.add(dict(frame=k, **_record(res)))
            n, faces = n + 1, faces + len(res[0])
        print('%s: %d frames detected, %d faces' % (args.video, n, faces))
        return
    todo = [p for p in _images(args) if p not in results.done]
    if results.done:
        print('%s: %d images already done, %d to go' % (results.path, len(results.done), len(todo)))
    pool = args.folder and args.workers > 1 and len(todo) > 1
    stream = _pool_results(args, todo, overrides or {}) if pool else _local_results(det, args, todo)
    for path, rec, skipped in _progress(stream, len(todo), args.folder):
        if skipped:
            results.skipped.append(skipped)
            continue
        results.add(rec)
        if args.imgfile:
            print('%s: %d faces' % (path, len(rec['boxes'])))


def _parser():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--models', required=True, help='exported cascade folder (cascade.json + .onnx files)')
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument('--imgfile', help='one image')
    src.add_argument('--folder', help='every image in a folder')
    src.add_argument('--video', help='a video file (frames read with OpenCV)')
    ap.add_argument('--every', type=_count(1), default=1, help='video: detect every N-th frame (default: 1)')
    ap.add_argument('--save_dets', default=None, help='one image: write "x1 y1 x2 y2 score" lines here')
    ap.add_argument('--json', default=None, help='write the results (boxes, scores, landmarks) here: .json for one '
                    'list at the end, .jsonl for a line per image as it is done (a rerun skips those)')
    ap.add_argument('--out', default=None, help='one image: write an annotated copy here')
    ap.add_argument('--align', default=None, metavar='SIZE', help='also write each face\'s aligned crop for '
                    'recognition: 112 (112x112), 96x112, or N (NxN)')
    ap.add_argument('--crops', default=None, help='folder of the aligned crops (default: <json>_crops, or '
                    '<out>_crops)')
    ap.add_argument('--thresh', default=None, help='override the stage thresholds, e.g. 0.6,0.7,0.7')
    ap.add_argument('--min_face', default=None, help="override the minimum face (default: the cascade's)")
    ap.add_argument('--threads', type=_count(1), default=2, help='runtime threads in this process (default: 2)')
    ap.add_argument('--workers', type=_count(1), default=min(2, os.cpu_count() or 1),
                    help='a folder: processes, one runtime thread each (default: 2, or 1 on a one-core machine)')
    ap.add_argument('--batch', type=_count(1), default=4, help='images per call (in this process, or in each '
                    'worker): the Rnet, Onet and Lnet run once over their candidates')
    ap.add_argument('--scheme', choices=sorted(SCHEMES), default='original',
                    help="candidate flow: the training toolkit's (original, default) or ZQCNN's C++ MTCNN's (zqcnn)")
    ap.add_argument('--nms', default=None, help='zqcnn scheme: NMS thresholds of the three stages (default 0.4,0.5,0.5)')
    ap.add_argument('--runs', type=_count(0), default=0,
                    help='one image: detect it this many more times and print median_ms=<float> (pin with taskset)')
    ap.add_argument('--max_pixels', type=_count(0), default=MAX_PIXELS, help='refuse larger images (0 = no limit)')
    return ap


def _count(low):
    def parse(text):
        if not text.isdigit() or int(text) < low:
            raise argparse.ArgumentTypeError('%r is not a whole number of at least %d' % (text, low))
        return int(text)
    return parse


def _prepare(args):
    """Check the flag combinations and settle the crops folder; the settings overrides."""
    if args.nms and args.scheme != 'zqcnn':
        raise SettingError('--nms applies to --scheme zqcnn only')
    if args.align:
        from core.detect.alignment import crop_size
        crop_size(args.align)  # a clear error for a bad size before any work
        if args.video:
            raise SettingError('--align applies to images (--imgfile, --folder), not to --video')
        base = args.json or args.out
        if not args.crops and not base:
            raise SettingError('--align: give --crops DIR (or --json, beside which the crops go)')
        args.crops = args.crops or os.path.splitext(base)[0] + '_crops'
        os.makedirs(args.crops, exist_ok=True)
    nms = dict(nms=[float(t) for t in args.nms.split(',')]) if args.nms else {}
    return dict(thresh=args.thresh, min_face=args.min_face, **nms)


def main(argv=None):
    args = _parser().parse_args(argv)
    results = None
    try:
        overrides = _prepare(args)
        det = load_onnx_cascade(args.models, args.threads, args.scheme, **overrides)
        results = Results(args.json)
        detect_all(det, args, results, overrides)
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
