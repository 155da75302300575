"""Detect faces in one image and write an annotated copy (no display needed).

    python demo.py --prefix model/pnet20,model/rnet,model/onet --epoch 16,16,16 \
        --imgfile 4.jpg --thresh 0.5,0.5,0.7 --min_face 20 --out result.jpg --save_dets dets.txt
    python demo.py --imgfile 4.jpg --out result.jpg --align 112       # + result_face0.png ... aligned crops
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cli  # noqa: E402
from cli import config  # noqa: E402


def main(argv=None):
    ap = cli.parser(__doc__)
    cli.add_detector_args(ap, committed_defaults=True)
    ap.add_argument('--imgfile', default=os.path.join(config.shared, 'images', '4.jpg'))
    ap.add_argument('--out', default='demoresult.jpg', help='annotated image to write')
    ap.add_argument('--save_dets', default=None, help='write "x1 y1 x2 y2 score" lines here')
    ap.add_argument('--align', default=None, metavar='SIZE', help="also write each face's aligned crop for "
                    'recognition beside --out (<out>_face<k>.png): 112 (112x112), 96x112, or N (NxN)')
    args = ap.parse_args(argv)
    if args.align:
        from core.detect.alignment import crop_size
        crop_size(args.align)  # a bad size is an error before any work
    from core.detect.detector import Trace, draw
    from core.common.fileio import write_lines
    from core.common.image import read_image, write_image
    img = read_image(args.imgfile, args.max_pixels)
    det = cli.detector_from_args(args)
    trace = Trace()
    boxes, scores, points = det.detect(img, trace=trace)
    if args.save_dets:
        write_lines(args.save_dets, ['%.2f %.2f %.2f %.2f %.5f' % (b[0], b[1], b[2], b[3], s) for b, s in zip(boxes, scores)])
    vis = draw(img, boxes, scores, points)
    if det.lnet106 is not None:
        vis = draw(vis, [], None, trace.landmarks106)
    write_image(args.out, vis)
    if args.align:
        from core.detect.alignment import align
        if points is None:
            raise cli.SettingError('--align needs the faces\' 5 points: a cascade with a landmark net')
        for k, pts in enumerate(points):
            write_image('%s_face%d.png' % (os.path.splitext(args.out)[0], k), align(img, pts, args.align))
    for b, s in zip(boxes, scores):
        print('%.2f %.2f %.2f %.2f %.5f' % (b[0], b[1], b[2], b[3], s))
    print('%d faces (%s) -> %s' % (len(boxes), ' / '.join('%s %d' % kv for kv in trace.counts.items()),
                                   args.out))
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
