"""A dev split of a 5-point landmark list that is balanced over head pose.

    python prepare_data/landmark_split.py --list runs/landmarks/boxes/train.txt --out runs/landmarks/split

The plain random tenth of a CUHK-style list is mostly frontal faces, so it rewards what frontal faces
need; the faces a landmark net gets wrong are the turned ones. This split holds out ``--ratio`` of the
list with the same number of faces from each pose bin, the pose read from the labelled points: the
nose's offset from the eyes' midpoint along the eye line, over the eye distance
(:func:`core.landmarks.points.yaw_proxy`).

Output in ``--out``: ``train.txt`` (the rest) and ``dev.txt`` (the held-out faces), the input's lines
with their paths rewritten relative to ``--out`` (for ``train_L.py --image_set … --val_list …``);
``dev_points.txt``, the dev faces in the CUHK layout (for ``tools/eval_landmarks.py --detect --list``,
which also reports NME per pose bin); ``dev_bins.json``, the bins and their counts. ``--pose_balance P``
repeats each training face of a pose bin ``round((largest bin / its bin) ** P)`` times (0: once each;
1: about as many of each pose). Seeded; written atomically.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402
from core.common.errors import InputError  # noqa: E402
from core.landmarks.points import POSE_EDGES, pose_bins  # noqa: E402


def split(samples, ratio, seed, edges=POSE_EDGES):
    """(train indices, dev indices): ``ratio`` of the samples held out, as evenly over the pose bins as
    their sizes allow (a bin gives at most half its faces; what it cannot give the others share)."""
    bins = pose_bins([p for _, _, p in samples], edges)
    rng = np.random.RandomState(seed)
    want = int(round(len(samples) * ratio))
    members = [rng.permutation(np.flatnonzero(bins == b)) for b in range(len(edges) - 1)]
    caps = [len(m) // 2 for m in members]
    take = [0] * len(members)
    while sum(take) < want and any(t < c for t, c in zip(take, caps)):
        open_bins = [b for b in range(len(members)) if take[b] < caps[b]]
        share = max(1, (want - sum(take)) // len(open_bins))
        for b in open_bins:
            take[b] = min(caps[b], take[b] + share, take[b] + want - sum(take))
    dev = np.sort(np.concatenate([m[:t] for m, t in zip(members, take)]).astype(int))
    train = np.setdiff1d(np.arange(len(samples)), dev)
    return train, dev, bins


def pose_repeats(bins, power):
    """How many times each face (of pose bin ``bins[i]``) goes into the training list."""
    sizes = np.bincount(bins)
    per_bin = np.where(sizes > 0, np.round((sizes.max() / np.maximum(sizes, 1)) ** power), 0).astype(int)
    return np.maximum(per_bin[bins], 1)


def _relative_line(line, src_dir, out_dir):
    from core.common.fileio import split_path
    name, numbers = split_path(line)
    path = os.path.relpath(os.path.join(src_dir, name.replace('\\', '/')), out_dir)
    return ' '.join([path] + list(numbers))


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--list', required=True, help='5-point landmark list (celeba format: path box points; '
                                                  'or cuhk with --format cuhk)')
    ap.add_argument('--format', default='celeba', choices=('celeba', 'cuhk'), help='the list format')
    ap.add_argument('--out', required=True, help='output folder for train.txt, dev.txt and dev_bins.json')
    ap.add_argument('--ratio', type=cli.number(float, low=0, below=1), default=0.1, help='held-out fraction')
    ap.add_argument('--seed', type=cli.number(int, low=0), default=0, help='seed of the draw')
    ap.add_argument('--pose_balance', type=cli.number(float, low=0), default=0.0,
                    help='repeat the training faces of rarer poses: (largest bin / bin) ** this, rounded')
    args = ap.parse_args(argv)
    from core.common.fileio import atomic_write
    from core.landmarks.points import read_landmark_list, to_vector
    samples = read_landmark_list(args.list, args.format)
    lines = [x for x in open(args.list) if x.strip()]
    if len(lines) != len(samples):
        raise InputError('%s: %d lines but %d faces read' % (args.list, len(lines), len(samples)))
    train, dev, bins = split(samples, args.ratio, args.seed)
    os.makedirs(args.out, exist_ok=True)
    src = os.path.dirname(os.path.abspath(args.list))
    out = os.path.abspath(args.out)
    train = np.repeat(train, pose_repeats(bins[train], args.pose_balance))
    for name, idx in (('train.txt', train), ('dev.txt', dev)):
        with atomic_write(os.path.join(args.out, name)) as f:
            f.write(''.join(_relative_line(lines[i], src, out) + '\n' for i in idx))
    with atomic_write(os.path.join(args.out, 'dev_points.txt')) as f:
        for i in dev:
            path, _, pts = samples[i]
            f.write(' '.join([os.path.relpath(path, out)] + ['%g' % v for v in to_vector(pts)]) + '\n')
    counts = [dict(bin='%g-%g' % (POSE_EDGES[b], POSE_EDGES[b + 1]), faces=int((bins == b).sum()),
                   dev=int((bins[dev] == b).sum()), train_lines=int((bins[train] == b).sum()))
              for b in range(len(POSE_EDGES) - 1)]
    with atomic_write(os.path.join(args.out, 'dev_bins.json')) as f:
        json.dump(dict(list=os.path.abspath(args.list), ratio=args.ratio, seed=args.seed,
                       pose_balance=args.pose_balance, bins=counts), f, indent=1)
    for c in counts:
        print('pose %-9s %5d faces, %4d held out, %5d training lines' % (c['bin'], c['faces'], c['dev'],
                                                                        c['train_lines']))
    print('wrote %s: %d training lines, %d dev faces' % (args.out, len(train), len(dev)))


if __name__ == '__main__':
    cli.run(main)
