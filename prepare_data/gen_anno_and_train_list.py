"""WIDER FACE annotations -> anno.txt and the image list (the original's step 1).

    python prepare_data/gen_anno_and_train_list.py --wider_root ../shared/data/widerface --split train

Reads ``wider_face_split/wider_face_<split>.mat`` (or ``--source txt`` for ``*_bbx_gt.txt``);
images listed but missing on disk are counted and reported, not fatal.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402

from config import add_config_args, apply_config_args, data_dir  # noqa: E402
from core.recipes.pipeline_recipe import DataSettings  # noqa: E402
from prepare_data.wider import AnnotationError, build_annotations, read_mat, read_txt, split_images, write_annotations  # noqa: E402


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--wider_root', default=data_dir('WIDER'), help='folder with WIDER_<split>/ and wider_face_split/')
    ap.add_argument('--split', choices=['train', 'val'], default='train')
    ap.add_argument('--source', choices=['mat', 'txt'], default='mat')
    ap.add_argument('--image_root', default=None, help='default: <wider_root>/WIDER_<split>/images')
    ap.add_argument('--drop_invalid', action='store_true', help="drop faces WIDER marks 'invalid'")
    ap.add_argument('--anno', default=None, help='output anno.txt (default <root>/data/wider/anno.txt)')
    ap.add_argument('--list', default=None, help='output image list (default <root>/data/imglists/train.txt)')
    ap.add_argument('--dev_fraction', type=float, default=DataSettings.dev_fraction,
                    help='hold out this fraction of every event\'s images as a dev split (0 = none)')
    ap.add_argument('--dev_seed', type=int, default=DataSettings.dev_seed, help='seed of the dev split')
    ap.add_argument('--dev_anno', default=None, help='anno.txt of the dev split (default: <anno>_dev.txt)')
    ap.add_argument('--train_fraction', type=float, default=DataSettings.train_fraction,
                    help='keep this seeded fraction of the remaining images for training (learning curves)')
    add_config_args(ap)
    args = ap.parse_args(argv)
    apply_config_args(args)
    split_dir = os.path.join(args.wider_root, 'wider_face_split')
    try:
        if args.source == 'mat':
            records = read_mat(os.path.join(split_dir, 'wider_face_%s.mat' % args.split))
        else:
            records = read_txt(os.path.join(split_dir, 'wider_face_%s_bbx_gt.txt' % args.split))
    except (OSError, AnnotationError) as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 2
    image_root = args.image_root or os.path.join(args.wider_root, 'WIDER_%s' % args.split, 'images')
    kept, stats = build_annotations(records, image_root, args.drop_invalid)
    anno = args.anno or data_dir('wider', 'anno.txt' if args.split == 'train' else 'anno_val.txt')
    lst = args.list or data_dir('imglists', '%s.txt' % args.split)
    if not kept:
        print('error: none of the %d listed images exist under %s' % (len(records), image_root), file=sys.stderr)
        return 2
    train, dev = split_images(kept, args.dev_fraction, args.dev_seed, args.train_fraction)
    if dev:
        dev_anno = args.dev_anno or os.path.splitext(anno)[0] + '_dev.txt'
        write_annotations(dev, dev_anno)
        print('dev split: %d images, %d faces -> %s' % (len(dev), sum(len(b) for _, b in dev), dev_anno))
    write_annotations(train, anno, lst)
    print('%d images, %d faces -> %s, %s' % (len(train), sum(len(b) for _, b in train), anno, lst))
    print('skipped: %d listed images missing on disk, %d invalid faces dropped; kept %d zero-size boxes '
          '(they give no samples)' % (stats['missing'], stats['invalid'], stats['zero_size']))
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
