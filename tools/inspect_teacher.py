"""How a teacher net sees a training list before distilling from it: per label (positives, parts,
negatives, landmark crops) its mean face probability and the share it calls faces, and how its box
offsets agree with the hard targets (correlation per coordinate, mean absolute difference beside the
targets' own mean size).

    python tools/inspect_teacher.py --image_set runs/wider/lists/r.txt --size 24 --kind rnet --teacher caffe

The teacher's rows are those the trainer uses (``core/train/teacher.py``): computed once and cached beside
the list. The last line is ``parts_called_faces=<share> box_corr=<mean correlation>``.
"""
import logging
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402
from core.common.fileio import LANDMARK, NEGATIVE, PART, POSITIVE  # noqa: E402
from core.recipes.training_recipe import DETECTION  # noqa: E402

NAMES = ((POSITIVE, 'positives'), (PART, 'parts'), (NEGATIVE, 'negatives'), (LANDMARK, 'landmark crops'))


def box_agreement(hard, taught):
    """(correlation per coordinate, mean |teacher − hard| per coordinate, mean |hard| per coordinate)."""
    corr = [float(np.corrcoef(hard[:, k], taught[:, k])[0, 1]) if hard[:, k].std() > 0 and taught[:, k].std() > 0
            else float('nan') for k in range(4)]
    return np.array(corr), np.abs(taught - hard).mean(0), np.abs(hard).mean(0)


def report(entries, rows, size, limit=20000, seed=0):
    """Lines describing the teacher ``rows`` on ``entries`` (box agreement on up to ``limit`` seeded
    positives and parts) and the summary dict."""
    from core.train.batches import SampleSource
    lines, summary = [], {}
    for code, name in NAMES:
        sel = entries.code == code
        if not sel.any():
            continue
        p = rows[sel, 0]
        lines.append('%-15s %9d  probability mean %.3f, median %.3f; called faces (> 0.5) %.1f %%'
                     % (name, sel.sum(), p.mean(), np.median(p), 100 * (p > 0.5).mean()))
        summary[name] = float((p > 0.5).mean())
    boxed = np.where(np.isin(entries.code, (POSITIVE, PART)))[0]
    if len(boxed):
        pick = np.sort(np.random.RandomState(seed).permutation(boxed)[:limit])
        source = SampleSource(entries, size)
        hard = np.stack([source.get(int(i))[2] for i in pick])
        corr, diff, scale = box_agreement(hard, rows[pick, 1:5])
        lines.append('box offsets of %d positives and parts: correlation %s; mean |teacher - hard| %s against mean '
                     '|hard| %s' % (len(pick), ' '.join('%.2f' % c for c in corr), ' '.join('%.3f' % d for d in diff),
                                    ' '.join('%.3f' % s for s in scale)))
        summary['box_corr'] = float(np.nanmean(corr))
    return lines, summary


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--image_set', required=True, help='a training list (packed or JPEG lines)')
    ap.add_argument('--size', type=cli.number(int, low=1), required=True, help='its sample size (20, 24, 48, ...)')
    ap.add_argument('--kind', choices=DETECTION, required=True, help='the stage it trains')
    ap.add_argument('--teacher', default='caffe', help="'caffe', 'caffe:<folder>' or '<prefix>:<epoch>'")
    ap.add_argument('--limit', type=cli.positive_int('--limit'), default=20000,
                    help='positives and parts read for the box agreement')
    args = ap.parse_args(argv)
    from core.train.batches import read_sample_list
    from core.train.teacher import teacher_targets
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    entries = read_sample_list(args.image_set)
    rows = teacher_targets(entries, args.size, args.teacher, args.kind, args.image_set,
                           log=logging.getLogger('teacher').info)
    lines, summary = report(entries, rows, args.size, args.limit)
    for line in lines:
        print(line)
    print('parts_called_faces=%.4f box_corr=%.4f' % (summary.get('parts', float('nan')),
                                                     summary.get('box_corr', float('nan'))))


if __name__ == '__main__':
    cli.run(main)
