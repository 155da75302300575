"""106-point landmarks on a face crop with an Lnet106 checkpoint (the original's demo106.py).

    python demo106.py --prefix ../shared/models/train-mtcnn/lnet106_112 --epoch 4070 \
        --imgfile ../shared/images/00_.jpg --out 00_result.png
"""
import os
import sys

import cv2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cli  # noqa: E402
from cli import config  # noqa: E402


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--prefix', default=os.path.join(config.shared, 'models', 'train-mtcnn', 'lnet106_112'))
    ap.add_argument('--epoch', type=int, default=4070)
    ap.add_argument('--network', default=None, help='Lnet106 variant (default: from the checkpoint)')
    ap.add_argument('--imgfile', default=os.path.join(config.shared, 'images', '00_.jpg'))
    ap.add_argument('--out', default='demo106_result.png')
    ap.add_argument('--save_points', default=None, help='write "x y" per point (normalised)')
    ap.add_argument('--scale', type=int, default=4, help='upscale factor of the drawing')
    args = ap.parse_args(argv)
    from core.common.fileio import write_lines
    from core.common.image import read_image, to_tensor, write_image
    from core.runtime.model_io import ModelError, load_model
    model = load_model(args.prefix, args.epoch, network=args.network)
    if model.info['kind'] != 'lnet' or model.info['n_points'] != 106:
        raise ModelError('%s: %s is not a 106-point landmark net' % (args.prefix, model.network))
    img = read_image(args.imgfile)
    size = model.info['size']
    crop = cv2.resize(img, (size, size)) if img.shape[:2] != (size, size) else img
    pts = model(to_tensor(crop))[0].reshape(-1, 2)
    if args.save_points:
        write_lines(args.save_points, ['%.5f %.5f' % (x, y) for x, y in pts])
    vis = cv2.resize(img, (img.shape[1] * args.scale, img.shape[0] * args.scale))
    for i, (x, y) in enumerate(pts):
        p = (int(round(x * vis.shape[1])), int(round(y * vis.shape[0])))
        cv2.circle(vis, p, 2, (0, 255, 0), -1)
    write_image(args.out, vis)
    print('%d points (%s) -> %s' % (len(pts), model.network, args.out))
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
