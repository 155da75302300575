"""CelebA 5-point lists in the original's formats.

    # list_bbox_celeba.txt + list_landmarks_celeba.txt -> img_celeba_all.txt
    python prepare_data/celeba.py lists --bbox list_bbox_celeba.txt --landmarks list_landmarks_celeba.txt \
        --out data/imglists/img_celeba_all.txt
    # cut faces out of img_celeba (the original's celeba_cut.py) -> data/img_cut_celeba + its list
    python prepare_data/celeba.py cut --list data/imglists/img_celeba_all.txt --images data/img_celeba \
        --out_images data/img_cut_celeba --out data/imglists/img_cut_celeba_all.txt
    # the CUHK lists (../shared/data/landmarks5) in the CelebA format
    python prepare_data/celeba.py from_cuhk --list new_training.txt --out data/imglists/cuhk_train.txt

Line format: ``<image name> x y w h lx1 ly1 … lx5 ly5`` (interleaved points, %.1f).
"""
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402

from prepare_data.landmark_data import ListError, celeba_cut, read_landmark_list  # noqa: E402


def _read_table(path, n_values):
    rows = {}
    with open(path) as f:
        lines = f.read().splitlines()
    for k, line in enumerate(lines[2:], 3):  # two header lines
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 1 + n_values:
            raise ListError('%s:%d: expected an image id and %d numbers' % (path, k, n_values))
        rows[parts[0]] = [float(v) for v in parts[1:]]
    return rows


def _line(name, box, pts):
    return '%s %s %s' % (name, ' '.join('%.1f' % v for v in box), ' '.join('%.1f' % v for v in np.ravel(pts)))


def _write(path, lines):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    os.replace(tmp, path)


def cmd_lists(args):
    boxes = _read_table(args.bbox, 4)
    marks = _read_table(args.landmarks, 10)
    missing = sorted(set(marks) - set(boxes))
    lines = [_line(n, boxes[n], np.reshape(marks[n], (5, 2))) for n in sorted(marks) if n in boxes]
    _write(args.out, lines)
    print('%d faces -> %s (%d without a box skipped)' % (len(lines), args.out, len(missing)))


def cmd_cut(args):
    from tqdm import tqdm
    samples = read_landmark_list(args.list, 'celeba', args.images)
    os.makedirs(args.out_images, exist_ok=True)
    lines, skipped, unreadable = [], 0, 0
    for path, box, pts in tqdm(samples, desc='celeba_cut', unit='img'):
        img = cv2.imread(path)
        if img is None:
            unreadable += 1
            continue
        res = celeba_cut(img, box, pts)
        if res is None:
            skipped += 1
            continue
        cut, bx, p = res
        name = os.path.basename(path)
        cv2.imwrite(os.path.join(args.out_images, name), cut)
        lines.append(_line(name, bx, p))
    _write(args.out, lines)
    print('%d cut faces -> %s; %d unusable faces, %d unreadable images' % (len(lines), args.out, skipped, unreadable))


def cmd_from_cuhk(args):
    samples = read_landmark_list(args.list, 'cuhk', '')
    lines = []
    for path, _, pts in samples:
        img = cv2.imread(os.path.join(os.path.dirname(os.path.abspath(args.list)), path))
        h, w = (img.shape[:2] if img is not None else (80, 80))
        lines.append(_line(path, [0, 0, w, h], pts))
    _write(args.out, lines)
    print('%d faces -> %s' % (len(lines), args.out))


def main(argv=None):
    ap = cli.parser(__doc__)
    sub = ap.add_subparsers(dest='cmd', required=True)
    a = sub.add_parser('lists')
    a.add_argument('--bbox', required=True)
    a.add_argument('--landmarks', required=True)
    a.add_argument('--out', required=True)
    b = sub.add_parser('cut')
    b.add_argument('--list', required=True)
    b.add_argument('--images', required=True)
    b.add_argument('--out_images', required=True)
    b.add_argument('--out', required=True)
    c = sub.add_parser('from_cuhk')
    c.add_argument('--list', required=True)
    c.add_argument('--out', required=True)
    args = ap.parse_args(argv)
    try:
        {'lists': cmd_lists, 'cut': cmd_cut, 'from_cuhk': cmd_from_cuhk}[args.cmd](args)
    except (OSError, ListError) as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
