"""Pseudo-label face crops with 106 points from a teacher net, for exercising the 106-point training
path end to end where no 106-point data set is at hand.

    python tools/pseudo_label106.py --list ../shared/data/landmarks5/new_training.txt \
        --out data/imglists/cuhk106_train.txt

Every image of ``--list`` (a 5-point CUHK list; its points are ignored) is resized to the teacher's
input (default: the original's shipped ``lnet106_112``) and the teacher's 106 points are written in
the original's 106-point list layout, ``<path> x0 y0 x1 y1 … x105 y105`` in pixels of that image
(``%.1f``; paths relative to the output list's folder when possible). A net trained on such a list
learns to imitate the teacher: its NME against the teacher measures the training path, not
landmark accuracy.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402
from cli import config  # noqa: E402


def label(model, paths, batch=64):
    """N×106×2 pixel points of the teacher on every image (resized to its input)."""
    import cv2
    from tqdm import tqdm
    from core.common.image import read_image, to_tensor
    size = model.info['size']
    out = []
    for start in tqdm(range(0, len(paths), batch), desc='teacher', unit='batch'):
        imgs = [read_image(p) for p in paths[start:start + batch]]
        v = model(to_tensor([cv2.resize(im, (size, size)) for im in imgs]))[0].reshape(len(imgs), 106, 2)
        wh = np.array([(im.shape[1], im.shape[0]) for im in imgs], np.float64)[:, None, :]
        out.append(v * wh - 0.5)  # crop-normalised -> pixels, the original's half-pixel convention
    return np.concatenate(out)


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--list', required=True, help='images to label (a CUHK-format list)')
    ap.add_argument('--out', required=True, help='106-point list to write')
    ap.add_argument('--teacher', default=os.path.join(config.shared, 'models', 'train-mtcnn', 'lnet106_112'),
                    help='teacher checkpoint prefix')
    ap.add_argument('--epoch', type=int, default=4070, help='teacher epoch')
    ap.add_argument('--limit', type=int, default=0, help='only the first N images')
    args = ap.parse_args(argv)
    from core.common.fileio import write_lines
    from core.landmarks.points import read_landmark_list
    from core.runtime.model_io import ModelError, load_model
    teacher = load_model(args.teacher, args.epoch)
    if teacher.info['kind'] != 'lnet' or teacher.info['n_points'] != 106:
        raise ModelError('%s: %s is not a 106-point net' % (args.teacher, teacher.network))
    paths = [p for p, _, _ in read_landmark_list(args.list, 'cuhk')][:args.limit or None]
    pts = label(teacher, paths)
    base = os.path.dirname(os.path.abspath(args.out))
    lines = ['%s %s' % (os.path.relpath(p, base), ' '.join('%.1f' % v for v in q.ravel())) for p, q in zip(paths, pts)]
    write_lines(args.out, lines)
    print('%d images labelled by %s -> %s' % (len(lines), teacher.network, args.out))
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
