"""Assemble a training list from the per-class sample pools (spec §1.4).

    python prepare_data/gen_imglist.py --size 20 --base_num 1 [--with_hard] [--with_landmark]

Per ``base_num``: 300,000 positives, 300,000 parts, 900,000 negatives (600,000 + 300,000 hard
negatives with ``--with_hard``), 600,000 landmark samples with ``--with_landmark``; a larger pool
is subsampled without replacement (seeded), a smaller one taken whole. Lines are grouped pos,
part, neg, neg_hard, landmark (shuffled at training time).

``--keep_ratio``: when a class pool is short of its count (a small data set), scale every count
down by the scarcest class's fill fraction, keeping the recipe's proportions (pos : part : neg :
hard = 1 : 1 : 2 : 1) instead of letting a huge mined pool dominate the list.

Packed pools give lines ``<class file>.rec#<record> <label code>`` (path relative to the list);
jpg pools keep the original's lines (``<path> <label> [offsets]``).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from config import add_config_args, apply_config_args, data_dir  # noqa: E402

CODES = {'pos': 1, 'part': -1, 'neg': 0, 'neg_hard': 0, 'landmark': -2}
BASE = {'pos': 300000, 'part': 300000, 'neg': 900000, 'neg_hard': 300000, 'landmark': 600000}


def class_counts(base_num, with_hard=False, with_landmark=False):
    want = {'pos': BASE['pos'] * base_num, 'part': BASE['part'] * base_num}
    if with_hard:
        want['neg'] = 600000 * base_num
        want['neg_hard'] = BASE['neg_hard'] * base_num
    else:
        want['neg'] = BASE['neg'] * base_num
    if with_landmark:
        want['landmark'] = BASE['landmark'] * base_num
    return want


def pool_lines(folder, cls, list_dir):
    """All list lines of one class pool (packed or jpg); raises when the pool is missing."""
    rec = os.path.join(folder, cls + '.idx')
    txt = os.path.join(folder, cls + '.txt')
    if os.path.isfile(rec):
        n = sum(1 for _ in open(rec))
        rel = os.path.relpath(os.path.join(folder, cls + '.rec'), list_dir)
        return ['%s#%d %d' % (rel, i, CODES[cls]) for i in range(n)]
    if os.path.isfile(txt):
        lines = []
        with open(txt) as f:
            for k, line in enumerate(f, 1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) < 2 or parts[1] not in ('1', '0', '-1', '-2'):
                    raise ValueError('%s:%d: expected "<path> <label code> [values]"' % (txt, k))
                lines.append(line.rstrip('\n'))
        return lines
    raise FileNotFoundError('no %s samples in %s (%s.rec/.idx or %s.txt)' % (cls, folder, cls, cls))


def assemble(folder, out_path, base_num=1, with_hard=False, with_landmark=False, seed=0, keep_ratio=False):
    """Write the list; returns {class: (pool size, taken)}."""
    rng = np.random.RandomState(seed)
    list_dir = os.path.dirname(os.path.abspath(out_path))
    report, lines = {}, []
    counts = class_counts(base_num, with_hard, with_landmark)
    pools = {cls: pool_lines(folder, cls, list_dir) for cls in counts}
    if keep_ratio:
        fill = min(1.0, min(len(pools[c]) / float(w) for c, w in counts.items()))
        counts = {c: max(1, int(round(w * fill))) for c, w in counts.items()}
    for cls, want in counts.items():
        pool = pools[cls]
        if len(pool) > want:
            pick = np.sort(rng.choice(len(pool), want, replace=False))
            chosen = [pool[i] for i in pick]
        else:
            chosen = pool
        report[cls] = (len(pool), len(chosen))
        lines += chosen
    os.makedirs(list_dir, exist_ok=True)
    tmp = out_path + '.tmp'
    with open(tmp, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    os.replace(tmp, out_path)
    return report


def list_name(size, base_num, with_hard, with_landmark):
    return 'train_%d%s%s_%d.txt' % (size, '_with_hard' if with_hard else '',
                                    '_landmark' if with_landmark else '', base_num)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--size', type=int, required=True)
    ap.add_argument('--base_num', type=int, default=1)
    ap.add_argument('--with_hard', action='store_true')
    ap.add_argument('--with_landmark', action='store_true')
    ap.add_argument('--samples', default=None, help='sample root (default <root>/data/samples)')
    ap.add_argument('--out', default=None, help='list path (default <root>/data/imglists/train_<S>..._<base>.txt)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--keep_ratio', action='store_true',
                    help='scale all class counts by the scarcest pool to keep the recipe proportions')
    add_config_args(ap)
    args = ap.parse_args(argv)
    apply_config_args(args)
    folder = os.path.join(args.samples or data_dir('samples'), str(args.size))
    out = args.out or data_dir('imglists', list_name(args.size, args.base_num, args.with_hard, args.with_landmark))
    try:
        report = assemble(folder, out, args.base_num, args.with_hard, args.with_landmark, args.seed, args.keep_ratio)
    except (OSError, ValueError) as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 2
    print('%s: %s' % (out, ', '.join('%s %d of %d' % (c, t, p) for c, (p, t) in report.items())))
    return 0


if __name__ == '__main__':
    sys.exit(main())
