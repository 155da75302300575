"""Offline landmark crops: 5 points for Onet/Lnet or 106 points.

    python prepare_data/gen_landmark.py --list ../shared/data/landmarks5/new_training.txt --format cuhk \
        --size 48 --base_num 1
    python prepare_data/gen_landmark.py --points 106 --list data/106data_merge.txt --size 80 --base_num 10

Output: packed ``landmark.rec`` (5 points) or ``landmark106.rec`` under ``<out>/<size>/`` with labels
``[-2, normalised points]`` (5 points: x1..x5, y1..y5; 106: interleaved), or ``--format_out jpg`` for
the original's folder + list layout. Seeded, parallel, resumable like gen_data.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402
from config import add_config_args, apply_config_args, data_dir  # noqa: E402
from prepare_data.landmark_data import Landmark5Job, Landmark106Job, read_landmark_list  # noqa: E402


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--list', required=True)
    ap.add_argument('--format', choices=['celeba', 'cuhk', 'l106'], default=None,
                    help='list format (default: cuhk for 5 points, l106 for 106)')
    ap.add_argument('--image_root', default=None, help="default: data/<config.landmark_img_set> for a list in "
                    "data/imglists, else the list's folder")
    ap.add_argument('--points', type=int, choices=[5, 106], default=5)
    ap.add_argument('--size', type=cli.number(int, low=1), default=None, help='crop size (default 48, or 80 for 106 points)')
    ap.add_argument('--base_num', type=cli.number(int, low=1), default=None, help='samples per face/angle (default 1, or 10)')
    ap.add_argument('--min_bs', type=cli.number(int, low=1), default=40, help='5 points: skip faces whose half side is smaller')
    ap.add_argument('--flip', action='store_true', help='random horizontal flips (the original: only when asked)')
    from core.recipes.training_recipe import StageRecipe
    aug = StageRecipe()  # the recipe defaults of the 106-point crops' augmentation
    ap.add_argument('--min_rot_angle', type=cli.number(int, low=-180, high=180), default=aug.min_rot_angle, help='106 points: smallest rotation')
    ap.add_argument('--max_rot_angle', type=cli.number(int, low=-180, high=180), default=aug.max_rot_angle, help='106 points: largest rotation')
    ap.add_argument('--enable_black_border', action='store_true', default=aug.enable_black_border,
                    help='106 points: a grey band over the left or right of some crops')
    ap.add_argument('--out', default=None, help='sample root (default <root>/data/samples)')
    ap.add_argument('--format_out', choices=['packed', 'jpg'], default='packed')
    ap.add_argument('--workers', type=cli.number(int, low=0), default=max(1, os.cpu_count() or 1))
    ap.add_argument('--seed', type=cli.number(int, low=0), default=0)
    ap.add_argument('--limit', type=cli.number(int, low=0), default=0)
    add_config_args(ap)
    args = ap.parse_args(argv)
    apply_config_args(args)
    from prepare_data.runner import run, skip_summary
    fmt = args.format or ('cuhk' if args.points == 5 else 'l106')
    size = args.size or (48 if args.points == 5 else 80)
    base = args.base_num or (1 if args.points == 5 else 10)
    from config import landmark_image_root
    args.list = cli.resolve_list(args.list)[0]
    samples = read_landmark_list(args.list, fmt, args.image_root or landmark_image_root(args.list))
    if args.limit:
        samples = samples[:args.limit]
    if args.points == 5:
        job, cls = Landmark5Job(samples, size, base, args.min_bs, args.flip), 'landmark'
    else:
        job, cls = Landmark106Job(samples, size, base, args.flip, args.min_rot_angle, args.max_rot_angle,
                                  args.enable_black_border), 'landmark106'
    cfg = dict(list=os.path.abspath(args.list), list_format=fmt, points=args.points, size=size, base_num=base,
               min_bs=args.min_bs, flip=args.flip, limit=args.limit, black_border=args.enable_black_border)
    out = os.path.join(args.out or data_dir('samples'), str(size))
    manifest = run(job, list(range(len(samples))), out, [cls], cfg, fmt=args.format_out, workers=args.workers,
                   seed=args.seed, desc='landmarks %d' % args.points, manifest_name='manifest_%s.json' % cls)
    print('%s: %d %s crops; %s' % (out, manifest['counts'][cls], cls,
                                   ' '.join('%s=%d' % kv for kv in sorted(manifest['stats'].items())
                                            if not isinstance(kv[1], list))))
    skipped = skip_summary(manifest)
    if skipped:
        print('warning: ' + skipped)
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
