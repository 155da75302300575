"""Detect faces in one image and write an annotated copy (no display needed).

    python demo.py --prefix model/pnet20,model/rnet,model/onet --epoch 16,16,16 \
        --imgfile 4.jpg --thresh 0.5,0.5,0.7 --min_face 20 --out result.jpg --save_dets dets.txt
"""
import argparse
import os
import sys

import cv2

from tools.common import add_detector_args, build_detector, config  # noqa: F401


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_detector_args(ap, committed_defaults=True)
    ap.add_argument('--imgfile', default=os.path.join(config.shared, 'images', '4.jpg'))
    ap.add_argument('--out', default='demoresult.jpg', help='annotated image to write')
    ap.add_argument('--save_dets', default=None, help='write "x1 y1 x2 y2 score" lines here')
    args = ap.parse_args(argv)
    from core.detector import draw
    from core.image import read_image
    from core.model_io import ModelError
    try:
        img = read_image(args.imgfile)
        det = build_detector(args)
    except (OSError, ValueError, ModelError) as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 2
    boxes, scores, points = det.detect(img)
    for folder in {os.path.dirname(os.path.abspath(p)) for p in (args.out, args.save_dets) if p}:
        os.makedirs(folder, exist_ok=True)
    if args.save_dets:
        with open(args.save_dets, 'w') as f:
            for b, s in zip(boxes, scores):
                f.write('%.2f %.2f %.2f %.2f %.5f\n' % (b[0], b[1], b[2], b[3], s))
    vis = draw(img, boxes, scores, points)
    if det.lnet106 is not None:
        vis = draw(vis, [], None, det.landmarks106)
    cv2.imwrite(args.out, vis)
    for b, s in zip(boxes, scores):
        print('%.2f %.2f %.2f %.2f %.5f' % (b[0], b[1], b[2], b[3], s))
    print('%d faces (%s) -> %s' % (len(boxes), ' / '.join('%s %d' % kv for kv in det.counts.items()),
                                   args.out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
