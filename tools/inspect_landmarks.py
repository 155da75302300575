"""Check a landmark list before training on it: counts per source folder of labels that cannot be right
(points outside the crop, eyes below the mouth, left/right swapped, all points in one band) and of
labels far from all the others (centre shifted, size off), a PNG grid of the worst lines with their
points drawn, and optionally the list without them.

    python tools/inspect_landmarks.py --list ../shared/data/landmarks5/new_training.txt \\
        --out runs/landmark_check --drop_outliers data/imglists/landmarks5_clean.txt

Writes ``<out>/report.txt`` (the table), ``<out>/flagged.tsv`` (line, path, failed checks, score) and
``<out>/worst.png``. The cleaned list keeps each kept line as it was, its path made relative to the
new list's folder (so the trainers' default image root still finds the images). The checks are
described in ``core/landmark_checks.py``.

``--shift PREFIX:DX,DY`` (repeatable) first moves every point of the lines whose path starts with
PREFIX by (DX, DY) pixels, the repair of a block of lines whose labels are all offset; the checks then
run on the moved points and the cleaned list carries them. The CUHK training list needs
``--shift net_7876/_:0,27.7`` (its 2,350 ``net_7876/_*`` lines sit 27.7 pixels too high; README, Landmarks).

``--content_offset N`` also prints, per source folder (up to N lines each), where the dark features of
the mean image patch sit around each labelled point (:func:`core.landmarks.label_checks.content_offset`): a
model-free check of two lists' pixel conventions against each other.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402  (first: it quiets OpenCV's own warnings)
import cv2  # noqa: E402
import numpy as np  # noqa: E402

from core.common.fileio import atomic_call, split_path, write_lines  # noqa: E402
from core.common.image import contact_sheet  # noqa: E402
from core.landmarks.label_checks import CHECKS, check_points, content_offset, outlier_mask, report  # noqa: E402
from core.landmarks.points import FORMATS, read_landmark_list, shift_numbers  # noqa: E402
from core.common.errors import SettingError  # noqa: E402


def _crop_frames(items, fmt):
    """(points in crop pixels N×P×2, crop sizes N×2, readable N-bool): the image is the crop, except
    for ``celeba`` lists, whose crop is the face box."""
    pts, sizes, ok = [], [], []
    for path, box, p in items:
        if fmt == 'celeba':
            pts.append(p - box[:2])
            sizes.append(box[2:4])
            ok.append(True)
            continue
        img = cv2.imread(path, cv2.IMREAD_REDUCED_GRAYSCALE_2)
        ok.append(img is not None)
        h, w = (img.shape[0] * 2, img.shape[1] * 2) if img is not None else (1, 1)
        sizes.append((w, h))
        pts.append(p)
    return np.stack(pts), np.asarray(sizes, np.float64), np.asarray(ok)


def _grid(items, order, reasons, cols=8, tile=128):
    tiles = []
    for k in order:
        img = cv2.imread(items[k][0])
        if img is None:
            continue
        sx, sy = tile / img.shape[1], tile / img.shape[0]
        big = cv2.resize(img, (tile, tile))
        for i, (x, y) in enumerate(items[k][2]):
            cv2.circle(big, (int(x * sx), int(y * sy)), 2, (0, 255, 0) if i < 2 else (0, 0, 255), -1)
        cv2.putText(big, '%d %s' % (k + 1, reasons[k][:14]), (2, tile - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.33,
                    (255, 255, 255), 1)
        tiles.append(big)
    return contact_sheet(tiles, cols, fill=0)


def _print_content_offsets(items, sources, most):
    """Per source folder: label -> dark centroid (dx, dy) in pixels of each point, over up to ``most`` lines."""
    print('dark centroid of the mean patch around each label, dx,dy in pixels (point 1..P):')
    for src in sorted(set(sources)):
        idx = [i for i, s in enumerate(sources) if s == src][:most]
        grays = (cv2.imread(items[i][0], cv2.IMREAD_GRAYSCALE) for i in idx)
        off = content_offset(grays, np.stack([items[i][2] for i in idx]))
        print('  %s (%d lines): %s' % (src, len(idx), '  '.join('%+.2f,%+.2f' % tuple(o) for o in off)))


def _shift_spec(text):
    """``PREFIX:DX,DY`` -> (prefix, dx, dy)."""
    prefix, _, move = text.rpartition(':')
    try:
        dx, dy = (float(v) for v in move.split(','))
    except ValueError:
        raise SettingError('--shift takes PREFIX:DX,DY (e.g. net_7876/_:0,27.7), got %r' % text)
    if not prefix:
        raise SettingError('--shift takes PREFIX:DX,DY with a path prefix, got %r' % text)
    return prefix, dx, dy


def _apply_shifts(raw, items, shifts, fmt):
    """Move the points of the lines each (prefix, dx, dy) names, in ``raw`` (path, numbers) and ``items``."""
    for prefix, dx, dy in shifts:
        hits = [i for i, (name, _) in enumerate(raw) if name.replace('\\', '/').startswith(prefix)]
        for i in hits:
            raw[i] = (raw[i][0], shift_numbers(raw[i][1], fmt, dx, dy))
            items[i] = (items[i][0], items[i][1], items[i][2] + [dx, dy])
        print('--shift %s: %d lines moved by (%g, %g) pixels' % (prefix, len(hits), dx, dy))


def _source(name):
    parts = name.replace('\\', '/').split('/')
    return parts[0] if len(parts) > 1 else '.'


def _parser():
    ap = cli.parser(__doc__)
    ap.add_argument('--list', required=True, help='landmark list')
    ap.add_argument('--format', choices=FORMATS, default='cuhk')
    ap.add_argument('--image_root', default=None, help='folder the list paths are relative to (default: its folder)')
    ap.add_argument('--out', default=None, help='report folder (default: <list>_check beside the list)')
    ap.add_argument('--drop_outliers', default=None, metavar='LIST', help='write the list without the flagged lines')
    ap.add_argument('--z_limit', type=cli.number(float, above=0), default=4.0, help='robust z beyond which centre or size is an outlier')
    ap.add_argument('--min_shift', type=cli.number(float, low=0), default=0.15, help='smallest centre shift (fraction of the crop) '
                    'that counts as off-centre')
    ap.add_argument('--shift', action='append', default=[], metavar='PREFIX:DX,DY',
                    help='move the points of the lines whose path starts with PREFIX by DX,DY pixels before the '
                         'checks (repeatable; the CUHK training list: net_7876/_:0,27.7)')
    ap.add_argument('--worst', type=cli.positive_int('--worst'), default=48, help='lines in the PNG grid')
    ap.add_argument('--content_offset', type=cli.positive_int('--content_offset', zero=True), default=0, metavar='N',
                    help='per source folder, the offset of the dark centroid of the mean patch from each labelled '
                         'point, over up to N lines (0: off)')
    return ap


def _write_report(out, raw, flags, names):
    """The per-source table of checks (report.txt, and printed)."""
    rows = report([_source(n) for n, _ in raw], {k: flags[k] for k in names})
    widths = [max(len(str(r[0])) for r in rows + [['source']])] + [max(8, len(k)) for k in ['lines'] + names + ['flagged']]
    table = [' '.join(str(v).rjust(w) for v, w in zip(['source', 'lines'] + names + ['flagged'], widths))]
    table += [' '.join(str(v).rjust(w) for v, w in zip(r, widths)) for r in rows]
    write_lines(os.path.join(out, 'report.txt'), table)
    print('\n'.join(table))


def _write_kept(path, raw, bad, root):
    """The list without the flagged lines, its paths relative to where it is written."""
    dest = os.path.dirname(os.path.abspath(path))
    kept = [' '.join([os.path.relpath(os.path.join(root, name.replace('\\', '/')), dest)] + numbers)
            for (name, numbers), b in zip(raw, bad) if not b]
    write_lines(path, kept)
    print('%s: %d lines kept, %d dropped' % (path, len(kept), bad.sum()))


def main(argv=None):
    ap = _parser()
    args = ap.parse_args(argv)
    shifts = [_shift_spec(t) for t in args.shift]
    if shifts and args.format == 'celeba':
        ap.error('--shift moves the points of cuhk and l106 lists (a celeba line also has a face box)')
    items = read_landmark_list(args.list, args.format, args.image_root)
    root = args.image_root if args.image_root is not None else os.path.dirname(os.path.abspath(args.list))
    with open(args.list) as f:
        raw = [split_path(line) for line in f if line.strip()]  # the lines read_landmark_list kept, in order
    _apply_shifts(raw, items, shifts, args.format)
    pts, sizes, readable = _crop_frames(items, args.format)
    flags, score = check_points(pts, sizes, args.z_limit, args.min_shift)
    flags = dict(flags, unreadable=~readable)
    bad = outlier_mask(flags)
    names = list(CHECKS) + ['unreadable']
    reasons = [','.join(k for k in names if flags[k][i]) for i in range(len(items))]
    out = args.out or os.path.splitext(os.path.abspath(args.list))[0] + '_check'
    os.makedirs(out, exist_ok=True)
    _write_report(out, raw, flags, names)
    order = sorted(np.flatnonzero(bad), key=lambda i: -score[i])
    write_lines(os.path.join(out, 'flagged.tsv'), ['line\tpath\tchecks\tscore'] + [
        '%d\t%s\t%s\t%.1f' % (i + 1, raw[i][0], reasons[i], score[i]) for i in order])
    shown = order[:args.worst] or list(np.argsort(-score)[:args.worst])
    grid = _grid(items, shown, reasons)
    if grid is not None:
        atomic_call(os.path.join(out, 'worst.png'), lambda tmp: cv2.imwrite(tmp, grid))
    print('%d of %d lines flagged; report.txt and flagged.tsv%s in %s' % (
        bad.sum(), len(items), ' and worst.png' if grid is not None else ' (no readable image for worst.png)', out))
    if args.content_offset:
        _print_content_offsets(items, [_source(n) for n, _ in raw], args.content_offset)
    if args.drop_outliers:
        _write_kept(args.drop_outliers, raw, bad, root)
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
