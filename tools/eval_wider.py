"""WIDER FACE evaluation with the official semantics (protocol: core/evaluation/wider.py).

    python tools/eval_wider.py                                  # the default models on the val subset
    python tools/eval_wider.py --prefix P,R,O --epoch 16,16,16 --thresh 0.5,0.5,0.7
    python tools/eval_wider.py --pred_dir runs/wider_pred       # evaluate a prediction folder
    python tools/eval_wider.py --gt_anno runs/wider/anno_dev.txt --prefix ...   # a dev split

With the official ground truth (``--gt_dir``: ``wider_face_val.mat`` and the easy/medium/hard
lists; ``--image_root``: ``WIDER_val/images``) only the events present under the image root (or in
the prediction folder) count, so a subset is evaluated as that subset; the last line is
``easy=.. medium=.. hard=..``. With ``--gt_anno`` (an ``anno.txt``: a dev split of training images)
faces whose larger side is at least ``--min_face`` count (``dev``), and those of 40 px and more
(``dev40``); smaller ones are don't-care; the last line is ``dev_ap=.. dev40_ap=..``.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402
from cli import config  # noqa: E402
from core.evaluation import wider_eval as W  # noqa: E402
from core.common.errors import InputError  # noqa: E402


def add_args(ap):
    data = os.path.join(config.shared, 'data', 'widerface')
    ap.add_argument('--pred_dir', default=None, help='evaluate this prediction folder (no detection)')
    ap.add_argument('--gt_dir', default=os.path.join(data, 'eval_tools', 'ground_truth'))
    ap.add_argument('--image_root', default=os.path.join(data, 'WIDER_val', 'images'))
    ap.add_argument('--gt_anno', default=None, help='evaluate on the images of this anno.txt (a dev split)')
    ap.add_argument('--label', default='dev', help='--gt_anno: name of the split in the output (dev_ap=...)')
    ap.add_argument('--out', default=os.path.join('runs', 'eval_wider'), help='predictions and plot go here')
    ap.add_argument('--title', default=None, help='plot title (default: the data evaluated)')
    cli.add_detector_args(ap, committed_defaults=True, point='accurate')


def _official(args):
    gt = W.load_ground_truth(args.gt_dir)
    if args.pred_dir:
        if not os.path.isdir(args.pred_dir):
            raise FileNotFoundError('%s: prediction folder not found' % args.pred_dir)
        unknown = sorted(d for d in os.listdir(args.pred_dir) if os.path.isdir(os.path.join(args.pred_dir, d))
                         and d not in gt)
        if unknown:
            raise InputError('%s: event folders not in the ground truth: %s' % (args.pred_dir, ', '.join(unknown[:5])))
        events = sorted(e for e in gt if os.path.isdir(os.path.join(args.pred_dir, e)))
        if os.path.isdir(args.image_root):
            events = sorted(set(events) | set(W.present_events(args.image_root, gt)))
        return gt, events, None
    events = W.present_events(args.image_root, gt)
    if not events:
        raise FileNotFoundError('%s: no WIDER event folders here' % args.image_root)
    return gt, events, W.official_images(args.image_root, gt, events)


def _dev(args, min_face):
    from prepare_data.wider import read_anno
    gt, images = W.ground_truth_from_anno(read_anno(args.gt_anno), min_face, args.label)
    return gt, sorted(gt), images


def main(argv=None):
    ap = cli.parser(__doc__)
    add_args(ap)
    args = ap.parse_args(argv)
    det_kw = cli.resolve_detector_args(args) if not args.pred_dir else None
    from core.recipes.cascade_settings import DEFAULTS
    min_face = (det_kw['settings'] if det_kw else DEFAULTS.replace('--min_face', min_face=args.min_face)).min_face
    gt, events, images = _dev(args, min_face) if args.gt_anno else _official(args)
    pred_dir = args.pred_dir or os.path.join(args.out, 'pred')
    if not args.pred_dir:
        det = cli.detector_from_args(args, landmarks=False)
        W.run_detector(det, images, pred_dir)
    if not events:
        raise FileNotFoundError('%s: no events to evaluate' % pred_dir)
    preds = W.load_predictions(pred_dir, events)
    aps, curves, counts = W.evaluate(preds, gt, events)
    from core.common.plot import pr_plot
    what = '%s split (%s)' % (args.label, os.path.basename(args.gt_anno)) if args.gt_anno else \
        'WIDER val (%d events)' % len(events)
    png = os.path.join(args.out, 'pr_curve.png')
    label = 'this cascade' if not det_kw else 'MTCNN thresholds %s' % ','.join('%g' % t for t in
                                                                             det_kw['settings'].thresh)
    pr_plot({label: (curves, aps)}, png, title=args.title or what)
    print('events: %d (%s); counted faces: %s' % (len(events), ', '.join(events),
                                                  ' '.join('%s %d' % kv for kv in counts.items())))
    print('PR curve: %s' % png)
    print(' '.join(('%s_ap=%.4f' if args.gt_anno else '%s=%.4f') % (s, aps[s]) for s in aps))
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
