"""A learning curve: dev and WIDER val AP of pipeline runs that differ only in how much of the
training data they used (``train_fraction``), as a PNG and a markdown table.

    python tools/pipeline.py --run runs/lc25 --wider_root W --set train_fraction=0.25   # and 0.5, 1.0
    python tools/learning_curve.py --runs runs/lc25 runs/lc50 runs/wider --out runs/learning_curve

Each run's cascade (the one its manifest names, with its recipe's thresholds) is evaluated on its own
dev split (the same images for every fraction: the split is drawn before the fraction) and once on the
WIDER val subset. Writes ``learning_curve.png`` and ``learning_curve.md``.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402
from cli import config  # noqa: E402


def evaluate_run(run, gt, events, image_root, threads=2):
    from core.detect.cascade import build_cascade
    from core.recipes.cascade_settings import CascadeSettings
    from core.recipes.fields import build
    from core.evaluation import wider_eval as W
    from core.common.fileio import load_json
    from prepare_data.wider import read_anno
    man = load_json(os.path.join(run, 'manifest.json'), 'pipeline manifest')
    c = man['cascade']
    settings = build(CascadeSettings, c['settings'], os.path.join(run, 'manifest.json'))
    det = build_cascade(c['prefix'], c['epoch'], c['networks'], settings, backend='onnx', threads=threads)
    out = {'fraction': man['config']['data']['train_fraction']}
    dev_anno = os.path.join(run, 'anno_dev.txt')
    if os.path.isfile(dev_anno):
        dgt, images = W.ground_truth_from_anno(read_anno(dev_anno), settings.min_face)
        pred = os.path.join(run, 'curve_dev_pred')
        W.run_detector(det, images, pred, desc='dev %s' % os.path.basename(run))
        out.update(W.evaluate(W.load_predictions(pred, sorted(dgt)), dgt, sorted(dgt))[0])
    pred = os.path.join(run, 'curve_val_pred')
    W.run_detector(det, W.official_images(image_root, gt, events), pred, desc='val %s' % os.path.basename(run))
    out.update(W.evaluate(W.load_predictions(pred, events), gt, events)[0])
    return out


def main(argv=None):
    ap = cli.parser(__doc__)
    data = os.path.join(config.shared, 'data', 'widerface')
    ap.add_argument('--runs', nargs='+', required=True, help='pipeline run folders')
    ap.add_argument('--gt_dir', default=os.path.join(data, 'eval_tools', 'ground_truth'))
    ap.add_argument('--image_root', default=os.path.join(data, 'WIDER_val', 'images'))
    ap.add_argument('--out', default=os.path.join('runs', 'learning_curve'))
    ap.add_argument('--threads', type=cli.number(int, low=1), default=2)
    args = ap.parse_args(argv)
    from core.evaluation import wider_eval as W
    from core.common.fileio import write_lines
    from core.common.plot import learning_curve_plot
    gt = W.load_ground_truth(args.gt_dir)
    events = W.present_events(args.image_root, gt)
    rows = sorted((evaluate_run(r, gt, events, args.image_root, args.threads) for r in args.runs),
                  key=lambda r: r['fraction'])
    names = [k for k in ('dev', 'dev40', 'easy', 'medium', 'hard') if k in rows[0]]
    png = learning_curve_plot([(r['fraction'], {k: r[k] for k in names}) for r in rows],
                              os.path.join(args.out, 'learning_curve.png'),
                              title='AP against training images\n(dev: held-out train images; easy/medium/hard: WIDER val)')
    table = ['| training images | %s |' % ' | '.join(names), '|---|%s' % ('---|' * len(names))]
    table += ['| %d %% | %s |' % (round(100 * r['fraction']), ' | '.join('%.3f' % r[k] for k in names)) for r in rows]
    write_lines(os.path.join(args.out, 'learning_curve.md'), table)
    print('\n'.join(table))
    print('plot: %s' % png)
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
