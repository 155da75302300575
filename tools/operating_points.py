"""Choose a cascade's operating points on a dev split: ``accurate`` (the best dev AP) and ``default``
(the best dev recall at a precision of at least ``--min_precision``, the faster on a tie, among the
settings at most ``--max_time_ratio`` times as slow as the original's shipped cascade on the same
images), the thresholds a picture or a deployment uses.

    python tools/operating_points.py --gt_anno runs/op/anno_dev.txt --write model/default/models.json

Each Pnet/Rnet setting of ``--grid`` runs the cascade once over the dev images with the Onet threshold
at its lowest candidate (timed, one process, ``--threads`` ONNX Runtime threads); the precision and
recall of every Onet threshold of ``--onet`` come from those detections (the protocol of
``core/evaluation/wider.py``: IoU 0.5, faces under ``min_face`` don't-care). The shipped models run
once the same way at their own thresholds as the time reference (skipped with ``--max_time_ratio 0``).
``--tta flip,2`` (the default; ``none`` to skip) measures every setting a second time with the Onet's test-time options (mirrored
crops averaged, a second pass on its own boxes; see ``core/detector.py``): the ``accurate`` point may use
them, the ``default`` point never does (the exports and ZQCNN run one plain Onet pass). With those
options the Onet threshold gates the first pass only, so filtering one run by score is not the same as
running at a higher threshold: the best row that uses them is detected again at exactly its
thresholds and its figures replaced, until the best row is one so measured.
Prints one line per setting and threshold, then the two points. ``--write`` records them in a model card
(``points`` and the ``sweep`` that chose them): ``demo.py`` and the exports use the default point,
``tools/eval_wider.py`` evaluates at the accurate point.
"""
import os
import sys
import time


sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402

from core.common.fileio import load_json, save_json  # noqa: E402
from core.recipes.cascade_settings import DEFAULTS, CascadeSettings  # noqa: E402
from core.common.errors import InputError, SettingError  # noqa: E402

GRID = '0.2,0.3;0.4,0.5;0.6,0.6;0.6,0.7;0.7,0.8;0.8,0.8;0.8,0.9;0.9,0.9'
ONET = '0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,0.95,0.97,0.98,0.99,0.995'


def parse_tta(text):
    """``none`` | ``flip`` | ``N`` | ``flip,N`` -> {} or {onet_flip, onet_passes}."""
    parts = [t.strip() for t in (text or 'none').split(',') if t.strip()]
    if parts in ([], ['none']):
        return {}
    flip = 'flip' in parts
    rest = [t for t in parts if t != 'flip']
    if len(rest) > 1 or (rest and not rest[0].isdigit()) or (rest and int(rest[0]) < 1):
        raise SettingError("--tta takes 'none', 'flip', a pass count or 'flip,N' (e.g. flip,2), got %r" % text)
    return dict(onet_flip=flip, onet_passes=int(rest[0]) if rest else 1)


def measure(card, grid, onet, gt, images, out, threads, label='dev', tta=None):
    """Rows (p, r, o, dev AP at o, precision, recall, s/img [, Onet options]) for every setting and Onet
    threshold."""
    from core.detect.cascade import build_cascade
    from core.evaluation import wider_eval as W
    rows, tta = [], dict(tta or {})
    passes = tta.get('onet_passes', DEFAULTS.onet_passes)
    tag = ('_flip' if tta.get('onet_flip') else '') + ('_x%d' % passes if passes > 1 else '')
    for p, r in grid:
        settings = card.settings().replace('operating points', thresh=(p, r, min(onet)), **tta)
        det = build_cascade(card.prefix, card.epoch, card.networks, settings, backend='onnx', threads=threads)
        pred_dir = os.path.join(out, 'pred_%g_%g%s' % (p, r, tag) if len(onet) > 1 else
                                'pred_%g_%g_%g%s' % (p, r, onet[0], tag))
        t0 = time.perf_counter()
        W.run_detector(det, images, pred_dir, desc='dev P %g R %g%s' % (p, r, tag.replace('_', ' ')))
        seconds = (time.perf_counter() - t0) / max(1, len(images))
        events = sorted(gt)
        preds = W.load_predictions(pred_dir, events)
        precision, recall = W.pr_at(preds, gt, events, label, onet)
        for o, pr, rc in zip(onet, precision, recall):
            kept = {e: {n: d[d[:, 4] >= o] for n, d in v.items()} for e, v in preds.items()}
            ap = W.evaluate(kept, gt, events)[0][label]
            rows.append(dict(thresh=[p, r, o], dev_ap=round(ap, 4), precision=round(float(pr), 4),
                             recall=round(float(rc), 4), s_per_img=round(seconds, 4), **tta))
            print('P %.2f R %.2f O %.3f%s  dev AP %.4f  precision %.4f  recall %.4f  %.3f s/img'
                  % (p, r, o, tag.replace('_', ' '), ap, pr, rc, seconds), flush=True)
    return rows


def plain(row):
    """Whether a row runs one plain Onet pass (what every export and runtime can run)."""
    return CascadeSettings(thresh=tuple(row['thresh']), **tta_of(row)).single_onet_pass


def tta_of(row):
    """The Onet test-time options a row was measured with."""
    return {k: row[k] for k in ('onet_flip', 'onet_passes') if k in row}


def reference_time(images, out, threads):
    """Seconds per dev image of the original's shipped cascade at its thresholds (None without it)."""
    from core.detect.cascade import build_cascade, shipped_card
    from core.evaluation import wider_eval as W
    ref = shipped_card()
    if not all(os.path.isfile(p + '-symbol.json') for p in ref.prefix):
        return None
    det = build_cascade(ref.prefix, ref.epoch, ref.networks, ref.settings(), backend='onnx', threads=threads)
    t0 = time.perf_counter()
    W.run_detector(det, images, os.path.join(out, 'pred_shipped'), desc='dev, shipped models')
    seconds = (time.perf_counter() - t0) / max(1, len(images))
    print('shipped models %s  %.3f s/img' % (','.join('%g' % t for t in ref.settings().thresh), seconds), flush=True)
    return round(seconds, 4)


def choose(rows, min_precision, max_seconds=None):
    """(accurate, default) rows: the best dev AP; the best recall at ``min_precision`` (then faster)
    among the rows of at most ``max_seconds`` per image."""
    accurate = max(rows, key=lambda x: (x['dev_ap'], -x['s_per_img']))
    ok = [x for x in rows if x['precision'] >= min_precision and plain(x)]
    if not ok:
        raise InputError('no setting reaches a dev precision of %g (best %.4f): add higher thresholds to '
                         '--onet' % (min_precision, max(x['precision'] for x in rows)))
    if max_seconds:
        fast = [x for x in ok if x['s_per_img'] <= max_seconds]
        if not fast:
            raise InputError('no setting with a dev precision of %g is within %.3f s/img (fastest %.3f): add '
                             'higher Pnet/Rnet thresholds to --grid' % (min_precision, max_seconds,
                                                                          min(x['s_per_img'] for x in ok)))
        ok = fast
    default = max(ok, key=lambda x: (round(x['recall'], 3), -x['s_per_img']))
    return accurate, default


def exact(card, row, gt, images, out, threads):
    """``row`` detected again at exactly its thresholds and Onet options (its figures replaced)."""
    p, r, o = row['thresh']
    again = measure(card, [(p, r)], [o], gt, images, out, threads, tta=tta_of(row))[0]
    return dict(again, exact=True)


def measured_card(card, write):
    """The card whose cascade is measured: ``card``, else the one the points are written to, else the default;
    ``card`` and ``write`` naming two cards is an error."""
    from core.detect.cascade import default_card
    if card and write and os.path.abspath(default_card(card=card).path) != os.path.abspath(write):
        raise SettingError('--card %s and --write %s: the points of one cascade go in its own card' % (card, write))
    return default_card(card=card or write)


def record(path, points, sweep):
    """Write ``points`` and ``sweep`` into the model card ``path`` (checked first) and its README's blocks."""
    from core.recipes.cascade_settings import card_from_json
    from tools.publish_models import write_readme
    target = load_json(path, 'model card')
    target.update(points=points, sweep=sweep)
    card_from_json(target, path)  # only a valid card is written
    save_json(path, target)
    if os.path.isfile(os.path.join(os.path.dirname(os.path.abspath(path)), 'README.md')):
        write_readme(os.path.dirname(os.path.abspath(path)), target)  # the model card follows
    print('%s: points recorded (default %s, accurate %s)' % (path, points['default']['thresh'],
                                                             points['accurate']['thresh']))


def main(argv=None):
    from core.detect.cascade import DEFAULT_CARD
    from core.evaluation import wider_eval as W
    from prepare_data.wider import read_anno
    ap = cli.parser(__doc__)
    ap.add_argument('--gt_anno', required=True, help='anno.txt of the dev split (never the evaluation set)')
    ap.add_argument('--grid', default=GRID, help='Pnet,Rnet threshold pairs separated by ";"')
    ap.add_argument('--onet', default=ONET, help='Onet thresholds to score')
    ap.add_argument('--tta', default='flip,2', help="also measure every setting with these Onet test-time options "
                    "for the accurate point: 'flip', a pass count, 'flip,N', or 'none' (default: flip,2)")
    ap.add_argument('--min_precision', type=cli.number(float, low=0, high=1), default=0.95)
    ap.add_argument('--max_time_ratio', type=cli.number(float, low=0), default=1.5,
                    help="default point: at most this many times the shipped models' dev s/img (0: no limit)")
    ap.add_argument('--threads', type=cli.number(int, low=1), default=1)
    ap.add_argument('--out', default='runs/operating_points', help='prediction folders and points.json')
    ap.add_argument('--card', default=None, help='the cascade to measure: a models.json or its folder (default: the '
                    "card of --write, else model/default)")
    ap.add_argument('--write', default=None, metavar='MODELS_JSON', help='record the points in this model card')
    ap.add_argument('--rows', default=None, metavar='POINTS_JSON', help="choose from an earlier run's points.json "
                    '(its measured rows) instead of detecting again, e.g. with another --min_precision')
    args = ap.parse_args(argv)
    card = measured_card(args.card, args.write)
    grid = [tuple(cli.csv_list(g, float, 'threshold')) for g in args.grid.split(';') if g.strip()]
    if any(len(g) != 2 for g in grid):
        raise SettingError('--grid takes Pnet,Rnet pairs separated by ";", got %r' % args.grid)
    onet = sorted(cli.csv_list(args.onet, float, 'threshold'))
    gt, images = W.ground_truth_from_anno(read_anno(args.gt_anno), card.settings().min_face)
    if args.rows:
        saved = load_json(args.rows, 'operating points')
        rows, ref = saved['rows'], saved['sweep'].get('shipped_s_per_img')
    else:
        tta = parse_tta(args.tta)
        rows = measure(card, grid, onet, gt, images, args.out, args.threads)
        if tta:
            rows += measure(card, grid, onet, gt, images, args.out, args.threads, tta=tta)
        ref = reference_time(images, args.out, args.threads) if args.max_time_ratio else None
    limit = args.max_time_ratio * ref if args.max_time_ratio and ref else None
    accurate, default = choose(rows, args.min_precision, limit)
    while not plain(accurate) and not accurate.get('exact'):  # until the best row is a measured one
        rows[rows.index(accurate)] = exact(card, accurate, gt, images, args.out, args.threads)
        accurate, default = choose(rows, args.min_precision, limit)
    points = dict(accurate=accurate, default=default)
    sweep = dict(split=os.path.basename(args.gt_anno), images=len(images), min_precision=args.min_precision,
                 threads=args.threads, shipped_s_per_img=ref, max_time_ratio=args.max_time_ratio if limit else 0.0)
    save_json(os.path.join(args.out, 'points.json'), dict(points=points, sweep=sweep, rows=rows))
    for name in ('accurate', 'default'):
        x = points[name]
        print('%-8s thresh %s%s: dev AP %.4f, precision %.4f, recall %.4f, %.3f s/img'
              % (name, ','.join('%g' % t for t in x['thresh']),
                 '' if plain(x) else ' (Onet flip %s, passes %d)' % (x['onet_flip'], x['onet_passes']),
                 x['dev_ap'], x['precision'], x['recall'], x['s_per_img']))
    if args.write:
        record(args.write, points, sweep)
    elif os.path.abspath(DEFAULT_CARD) != os.path.abspath(args.out):
        print('(give --write %s to record them)' % os.path.relpath(DEFAULT_CARD))
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
