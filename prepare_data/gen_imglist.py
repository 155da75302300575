"""Assemble a training list from the per-class sample pools.

    python prepare_data/gen_imglist.py --size 20 --base_num 1 [--with_hard] [--with_landmark]

Per ``base_num``: 300,000 positives, 300,000 parts, 900,000 negatives (600,000 + 300,000 hard
negatives with ``--with_hard``), 600,000 landmark samples with ``--with_landmark``; a larger pool
is subsampled without replacement (seeded), a smaller one taken whole. Lines are grouped pos,
part, neg, neg_hard, landmark (shuffled at training time).

``--keep_ratio``: when a class pool is short of its count (a small data set), scale every count
down by the scarcest class's fill fraction, keeping the recipe's proportions (pos : part : neg :
hard = 1 : 1 : 2 : 1) instead of letting a huge mined pool dominate the list.

``--plus`` uses the counts of the original's ``gen_imglist_plus.py`` (the advanced recipe with several
hard-negative folds ``neg_hard1``, ``neg_hard2`` … mined with ``gen_hard_example --target_fold``):
100,000 positives and parts; 300,000 negatives without hard ones; with them 150,000 + 75,000 × 2
folds at size 24, 120,000 + 60,000 × 3 at size 48, 200,000 + 100,000 × 1 otherwise.
``--classes landmark`` writes a list of those classes only, whole (e.g. the landmark-only list
``data/imglists/landmark.txt`` the Lnet trainer reads).

``--extra ROOT``: the positives and parts of another sample root join those pools before the counts
are drawn (extra faces that give no negatives, e.g. the 5-point landmark faces boxed by the detector:
``prepare_data/landmark_boxes.py --anno_out`` then ``gen_data.py``); with ``--keep_ratio`` the
negatives then grow with them, as far as their pools allow.

``--hard_teacher SPEC --hard_teacher_share F``: a share F of the mined negatives kept are those the
teacher ``SPEC`` (as a training recipe's ``teacher``: ``caffe`` or ``<prefix>:<epoch>``; the net of the
list's stage, by ``--size``) finds most face-like, the rest drawn at random as without it; the teacher's
face probability on the whole mined pool is computed once and cached beside it
(``neg_hard.idx.teacher-<key>.npy``, resumable). Packed pools only.

Packed pools give lines ``<class file>.rec#<record> <label code>`` (path relative to the list);
jpg pools keep the original's lines (``<path> <label> [offsets]``).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402
from config import add_config_args, apply_config_args, data_dir  # noqa: E402
from core.common.fileio import LANDMARK, NEGATIVE, PART, POSITIVE, FormatError, atomic_write  # noqa: E402
from core.recipes.pipeline_recipe import StagePlan  # noqa: E402
from core.common.errors import SettingError  # noqa: E402
from prepare_data.sampling import STAGE_KINDS  # noqa: E402

CODES = {'pos': POSITIVE, 'part': PART, 'neg': NEGATIVE, 'neg_hard': NEGATIVE, 'landmark': LANDMARK,
         'pos_hard': POSITIVE, 'part_hard': PART}  # *_hard: mined with gen_hard_example --keep_pos_part
BASE = {'pos': 300000, 'part': 300000, 'neg': 900000, 'neg_hard': 300000, 'landmark': 600000}


EXTRA_CLASSES = ('pos', 'part')  # the pools an --extra sample root joins
PLUS_FOLDS = {24: (150000, 75000, 2), 48: (120000, 60000, 3)}


def class_counts(base_num, with_hard=False, with_landmark=False, plus=False, size=None):
    """{class: lines wanted} per base_num as the original's gen_imglist (or gen_imglist_plus)."""
    if plus:
        want = {'pos': 100000 * base_num, 'part': 100000 * base_num}
        if with_hard:
            neg, hard, folds = PLUS_FOLDS.get(size, (200000, 100000, 1))
            want['neg'] = neg * base_num
            want.update({'neg_hard%d' % (k + 1): hard * base_num for k in range(folds)})
        else:
            want['neg'] = 300000 * base_num
        return want
    want = {'pos': BASE['pos'] * base_num, 'part': BASE['part'] * base_num}
    if with_hard:
        want['neg'] = 600000 * base_num
        want['neg_hard'] = BASE['neg_hard'] * base_num
    else:
        want['neg'] = BASE['neg'] * base_num
    if with_landmark:
        want['landmark'] = BASE['landmark'] * base_num
    return want


def code_of(cls):
    """Label code of a class pool (hard-negative folds ``neg_hard1``… are negatives)."""
    for prefix in ('neg_hard', 'landmark'):
        if cls.startswith(prefix):
            return CODES[prefix]
    if cls not in CODES:
        raise SettingError('unknown sample class %r (%s)' % (cls, ', '.join(CODES)))
    return CODES[cls]


def _pool_file(folder, cls):
    rec, txt = os.path.join(folder, cls + '.idx'), os.path.join(folder, cls + '.txt')
    if os.path.isfile(rec):
        return rec, True
    if os.path.isfile(txt):
        return txt, False
    raise FileNotFoundError('no %s samples in %s (%s.rec/.idx or %s.txt)' % (cls, folder, cls, cls))


def pool_lines(folder, cls, list_dir, pick=None):
    """The list lines of one class pool (packed or jpg), streamed: all of them, or those at the sorted
    indices ``pick``; raises when the pool is missing or a jpg list line is malformed. Nothing of the
    pool is held in memory, so a list of any size is written with bounded memory."""
    path, packed = _pool_file(folder, cls)
    code = code_of(cls)
    rel = os.path.relpath(os.path.join(folder, cls + '.rec'), list_dir)
    want = iter(pick) if pick is not None else None
    nxt = next(want, None) if want is not None else None
    i = 0
    with open(path) as f:
        for k, line in enumerate(f, 1):
            if packed:
                out = '%s#%d %d' % (rel, i, code)
            else:
                parts = line.split()
                if not parts:
                    continue
                if len(parts) < 2 or parts[1] not in ('1', '0', '-1', '-2'):
                    raise FormatError('%s:%d: expected "<path> <label code> [values]"' % (path, k))
                out = line.rstrip('\n')
            if want is None:
                yield out
            elif i == nxt:
                yield out
                nxt = next(want, None)
                if nxt is None:
                    return
            i += 1


def draw(rng, n, k):
    """``rng.choice(n, k, replace=False)`` exactly (the legacy generator shuffles ``arange(n)`` and
    keeps the first ``k``), with 4-byte indices: the one thing a list holds per pooled sample."""
    if n >= 2 ** 31:
        return rng.choice(n, k, replace=False)
    return rng.permutation(np.arange(n, dtype=np.int32))[:k]


def pool_size(folder, cls, list_dir):
    """How many samples a class pool holds (a jpg pool's lines are checked on the way)."""
    return sum(1 for _ in pool_lines(folder, cls, list_dir))


def manifest_name(cls):
    """The manifest the run writing a class pool leaves when it finishes (see prepare_data/runner.py)."""
    if cls == 'neg_hard':
        return 'manifest_hard.json'
    if cls.startswith('neg_hard') or cls.startswith('landmark'):
        return 'manifest_%s.json' % cls
    return 'manifest.json'


def _require_finished(folder, classes):
    """Refuse pools whose generating run did not finish (no manifest: killed, or the disk was full)."""
    for cls in classes:
        name = manifest_name(cls)
        packed = os.path.isfile(os.path.join(folder, cls + '.idx'))  # only this toolkit writes packed pools
        interrupted = os.path.isfile(os.path.join(folder, 'state_' + name))
        if interrupted or (packed and not os.path.isfile(os.path.join(folder, name))):
            raise FormatError('%s: the %s samples are incomplete (no %s: the run that writes them was interrupted '
                              'or failed); rerun it to finish them' % (folder, cls, manifest_name(cls)))


def _pools(folder, extra, counts, list_dir):
    """Each class's pool as (folder, size) parts, the main folder first; a clear error for an empty pool."""
    _require_finished(folder, counts)
    for root in extra:
        _require_finished(root, [c for c in EXTRA_CLASSES if c in counts])
    parts = {cls: [(folder, pool_size(folder, cls, list_dir))] +
             [(root, pool_size(root, cls, list_dir)) for root in extra if cls in EXTRA_CLASSES] for cls in counts}
    empty = [c for c, p in parts.items() if not sum(n for _, n in p)]
    if empty:
        raise FormatError('%s: no %s samples (%s)' % (folder, ', '.join(empty), 'hard-example mining found none: '
                          'the previous stage is too weak or its threshold too high' if any(
                              c.startswith('neg_hard') for c in empty) else 'generate them first'))
    return parts


def _write_list(out_path, counts, parts, picks, list_dir):
    with atomic_write(out_path) as f:
        for cls in counts:
            start = 0
            for root, n in parts[cls]:
                pick = picks[cls]
                if pick is not None:
                    pick = pick[(pick >= start) & (pick < start + n)] - start
                for line in pool_lines(root, cls, list_dir, pick):
                    f.write(line + '\n')
                start += n


def assemble(folder, out_path, base_num=StagePlan.base_num, with_hard=False, with_landmark=False, seed=0, keep_ratio=False,
             plus=False, size=None, classes=None, extra=(), hard_scores=None, hard_share=0.0):
    """Write the list; returns {class: (pool size, taken)}. ``extra``: sample folders whose positives and
    parts join those pools (after the main folder's) before the counts are drawn. ``hard_scores``
    (:func:`teacher_pool_scores`) with ``hard_share`` > 0: that share of each mined-negative class is the
    pool's most face-like by the teacher; the report then also says how many the teacher calls faces."""
    rng = np.random.RandomState(seed)
    list_dir = os.path.dirname(os.path.abspath(out_path))
    counts = {c: None for c in classes} if classes else class_counts(base_num, with_hard, with_landmark, plus, size)
    parts = _pools(folder, extra, counts, list_dir)
    sizes = {cls: sum(n for _, n in p) for cls, p in parts.items()}
    if keep_ratio and not classes:
        fill = min(1.0, min(sizes[c] / float(w) for c, w in counts.items()))
        counts = {c: max(1, int(round(w * fill))) for c, w in counts.items()}
    picks, report = {}, {}
    for cls, want in counts.items():  # the draws of the seeded generator, class by class as before
        n = sizes[cls]
        ranked = hard_scores is not None and hard_share > 0 and cls.startswith('neg_hard') and want is not None
        if ranked and n > want:
            picks[cls], faces = ranked_pick(rng, hard_scores(folder, cls, n), want, hard_share)
            report[cls] = (n, len(picks[cls]), faces)
            continue
        picks[cls] = np.sort(draw(rng, n, want)) if want is not None and n > want else None
        report[cls] = (n, n if picks[cls] is None else len(picks[cls]))
    _write_list(out_path, counts, parts, picks, list_dir)
    return report


def stage_kind(size):
    """The detection net a list of ``size`` px samples trains (its teacher's kind)."""
    if size not in STAGE_KINDS:
        raise SettingError('--size %d: --hard_teacher ranks the samples of a Pnet (12, 16, 20 px), an Rnet (24) or '
                           'an Onet (48)' % size)
    return STAGE_KINDS[size]


def teacher_pool_scores(spec, size, log=print):
    """``scores(folder, cls, n)``: the face probability the teacher ``spec`` gives each of the ``n`` samples
    of a packed class pool (cached beside the pool by :func:`core.train.teacher.teacher_targets`)."""
    from core.train.batches import ListEntries
    from core.train.teacher import teacher_targets
    kind = stage_kind(size)

    def scores(folder, cls, n):
        if not os.path.isfile(os.path.join(folder, cls + '.idx')):
            raise FormatError('%s: --hard_teacher ranks packed pools only (%s.rec/.idx), not %s.txt'
                              % (folder, cls, cls))
        entries = ListEntries([os.path.join(folder, cls + '.rec')], np.zeros(n, np.int32), np.arange(n),
                              np.full(n, code_of(cls), np.int8))
        rows = teacher_targets(entries, size, spec, kind, os.path.join(folder, cls + '.idx'), log=log)
        return rows[:, 0]
    return scores


def ranked_pick(rng, prob, want, share):
    """Sorted indices of ``want`` of the pool: the ``share`` the teacher scores highest (``prob``, ties by
    index), the rest at random among the others; and how many of them the teacher calls faces (>= 0.5)."""
    top = np.argsort(-prob, kind='stable')[:int(round(share * want))]
    rest = np.setdiff1d(np.arange(len(prob)), top)
    pick = np.sort(np.concatenate([top, rest[draw(rng, len(rest), want - len(top))]]))
    return pick, int((prob[pick] >= 0.5).sum())


def list_name(size, base_num, with_hard, with_landmark, classes=None):
    if classes:
        return '%s.txt' % '_'.join(classes)
    return 'train_%d%s%s_%d.txt' % (size, '_with_hard' if with_hard else '',
                                    '_landmark' if with_landmark else '', base_num)


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--size', type=cli.number(int, low=1), required=True)
    ap.add_argument('--base_num', type=cli.number(int, low=1), default=StagePlan.base_num)
    ap.add_argument('--with_hard', action='store_true', help='add the mined hard negatives (neg_hard)')
    ap.add_argument('--with_landmark', action='store_true', help='add landmark samples (label -2)')
    ap.add_argument('--plus', action='store_true', help="the original's gen_imglist_plus counts (hard-negative folds)")
    ap.add_argument('--classes', default=None, help='only these classes, whole (e.g. landmark)')
    ap.add_argument('--samples', default=None, help='sample root (default <root>/data/samples)')
    ap.add_argument('--out', default=None, help='list path (default <root>/data/imglists/train_<S>..._<base>.txt)')
    ap.add_argument('--extra', action='append', default=[], metavar='ROOT',
                    help="this sample root's positives and parts join the pools (repeatable)")
    ap.add_argument('--seed', type=cli.number(int, low=0), default=0)
    ap.add_argument('--keep_ratio', action='store_true',
                    help='scale all class counts by the scarcest pool to keep the recipe proportions')
    ap.add_argument('--hard_teacher', default=None, metavar='SPEC',
                    help="rank the mined negatives by this teacher's face probability ('caffe' or <prefix>:<epoch>)")
    ap.add_argument('--hard_teacher_share', type=cli.number(float, low=0, high=1), default=0.5,
                    help='with --hard_teacher: the share of the kept mined negatives that are its most face-like')
    add_config_args(ap)
    args = ap.parse_args(argv)
    apply_config_args(args)
    classes = cli.csv_list(args.classes) if args.classes else None
    folder = os.path.join(args.samples or data_dir('samples'), str(args.size))
    out = args.out or data_dir('imglists', list_name(args.size, args.base_num, args.with_hard, args.with_landmark,
                                                     classes))
    if args.hard_teacher is not None and not args.with_hard and not args.plus:
        raise SettingError('--hard_teacher ranks mined negatives: it needs --with_hard')
    scores = teacher_pool_scores(args.hard_teacher, args.size) if args.hard_teacher else None
    report = assemble(folder, out, args.base_num, args.with_hard, args.with_landmark, args.seed, args.keep_ratio,
                      args.plus, args.size, classes, [os.path.join(r, str(args.size)) for r in args.extra],
                      scores, args.hard_teacher_share)
    print('%s: %s' % (out, ', '.join('%s %d of %d%s' % (c, r[1], r[0], ' (%d of them faces to the teacher)' % r[2]
                                                         if len(r) > 2 else '') for c, r in report.items())))
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
