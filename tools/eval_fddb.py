"""FDDB evaluation in pure Python (no Windows binaries, Perl or gnuplot), official semantics.

    python tools/eval_fddb.py --folds FDDB-folds --dets detections.txt --out runs/fddb

As the official ``evaluate``: for every unique score of an image, detections ≥ that score are
matched to the annotated ellipses by maximum-weight bipartite matching on region IoU (ellipses
and rectangles rasterised as filled pixel regions, OpenCV drawing rules); a match counts for the
discrete ROC when IoU > 0.5, its IoU adds to the continuous ROC; every other detection is a false
positive. Per-image results are merged over all thresholds. Writes ``DiscROC.txt`` (TPR FP
threshold) and ``ContROC.txt`` (TPR FP), a ROC plot, and ends with
``tpr@100=.. tpr@500=.. tpr@1000=.. tpr@2000=..`` (discrete).

Image sizes: the official tool rasterises on each image's own grid, so regions are clipped at
the image border. FDDB images are not needed here: give ``--image_sizes`` (lines
``name width height``) or ``--image_dir`` to clip exactly; otherwise regions are rasterised
clipped only at the top and left borders (always at 0) and unbounded to the right and bottom,
which the output states. On the original's reference detections this gives TPR within 0.005 of
the official tool at 100 and 500 false positives.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402
from core.evaluation.fddb_eval import FP_POINTS, evaluate, read_detections, read_ellipses, tpr_at  # noqa: E402
from core.common.fileio import FormatError, atomic_write  # noqa: E402

def read_sizes(args, names):
    """{name: (width, height)} from --image_sizes or --image_dir, else None."""
    if args.image_sizes:
        sizes = {}
        with open(args.image_sizes) as f:
            for k, ln in enumerate(f, 1):
                parts = ln.split()
                if not parts:
                    continue
                if len(parts) != 3 or not (parts[1].isdigit() and parts[2].isdigit()):
                    raise FormatError('%s:%d: expected "name width height"' % (args.image_sizes, k))
                sizes[parts[0]] = (int(parts[1]), int(parts[2]))
        return sizes
    if args.image_dir:
        import cv2
        sizes = {}
        for name in names:
            img = cv2.imread(os.path.join(args.image_dir, name + '.jpg'))
            if img is not None:
                sizes[name] = (img.shape[1], img.shape[0])
        return sizes
    return None


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--folds', required=True, help='folder with FDDB-fold-XX-ellipseList.txt')
    ap.add_argument('--dets', required=True, help='detections, FDDB rectangle format, any image order')
    ap.add_argument('--out', default=os.path.join('runs', 'fddb'))
    ap.add_argument('--image_sizes', default=None, help='file of "name width height" lines')
    ap.add_argument('--image_dir', default=None, help='FDDB originalPics folder (sizes read from images)')
    args = ap.parse_args(argv)
    ellipses = read_ellipses(args.folds)
    dets = read_detections(args.dets)
    sizes = read_sizes(args, [n for n, _ in ellipses])
    unknown = set(dets) - {n for n, _ in ellipses}
    if unknown:
        print('warning: %d detected images are not in the folds (ignored), e.g. %s'
              % (len(unknown), sorted(unknown)[0]))
    thr, tp_d, tp_c, fp, n = evaluate(ellipses, dets, sizes)
    disc, cont = tp_d / n, tp_c / n
    # official column order, thresholds ascending; images without detections add the
    # official last row at the largest double
    empty = any(len(dets.get(name, ())) == 0 for name, _ in ellipses)
    with atomic_write(os.path.join(args.out, 'DiscROC.txt')) as f:
        for i in range(len(thr)):
            f.write('%g %d %g\n' % (disc[i], fp[i], thr[i]))
        if empty:
            f.write('0 0 %g\n' % sys.float_info.max)
    with atomic_write(os.path.join(args.out, 'ContROC.txt')) as f:
        for i in range(len(thr)):
            f.write('%g %d\n' % (cont[i], fp[i]))
        if empty:
            f.write('0 0\n')
    from core.common.plot import roc_plot
    label = os.path.basename(args.dets)
    roc_plot([('%s, discrete' % label, fp, disc), ('%s, continuous' % label, fp, cont)],
             os.path.join(args.out, 'ROC.png'), title='FDDB ROC (%d faces, %d images)' % (n, len(ellipses)),
             xlim=(0, 2000))
    mode = ('clipped to image sizes (%d known)' % len(sizes)) if sizes else \
        'clipped at x, y >= 0 only (no image sizes given: right/bottom borders unknown)'
    print('images: %d, faces: %d, detections: %d; regions %s' % (len(ellipses), n,
                                                                sum(len(v) for v in dets.values()), mode))
    print('wrote %s, %s, %s' % tuple(os.path.join(args.out, p) for p in ('DiscROC.txt', 'ContROC.txt', 'ROC.png')))
    print(' '.join('tpr@%d=%.4f' % (k, tpr_at(disc, fp, k)) for k in FP_POINTS))
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
