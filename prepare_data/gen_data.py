"""Generate positive / part / negative crops of one size from WIDER FACE.

    python prepare_data/gen_data.py --anno data/wider/anno.txt --size 20 --base_num 1 --workers 2

Output ``<out>/<size>/``: packed ``pos/part/neg.rec`` + ``.idx`` and ``manifest.json`` (default), or
with ``--format jpg`` the original's ``positive/ part/ negative/`` folders and ``pos.txt`` …
lists. Deterministic for a given ``--seed`` whatever ``--workers``; interrupt and rerun to resume.
Unreadable or missing images are counted and skipped.
"""
import os
import random
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402

from config import add_config_args, apply_config_args, data_dir  # noqa: E402
from core.recipes.pipeline_recipe import DataSettings, StagePlan  # noqa: E402
from prepare_data.runner import skip_summary  # noqa: E402
from prepare_data.sampling import CLASS_NAMES, STAGE_KINDS, sample_image  # noqa: E402
from prepare_data.wider import AnnotationError, read_anno, read_prob  # noqa: E402
from prepare_data.writers import encode  # noqa: E402


def image_rng(seed, index):
    """An independent, reproducible random stream per (seed, image)."""
    return random.Random(int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0]))


class SampleJob:
    """Picklable per-image work: read, sample, encode."""

    def __init__(self, anno, probs, size, base_num, prob_thresh, min_face=DataSettings.min_face, encoding='jpeg'):
        self.anno, self.probs, self.encoding = anno, probs, encoding
        self.size, self.base_num, self.prob_thresh, self.min_face = size, base_num, prob_thresh, min_face

    def __call__(self, index, seed):
        from core.common.image import read_image
        path, boxes = self.anno[index]
        img = read_image(path, max_pixels=0)  # an unreadable image: a counted skip (prepare_data/runner.py)
        stats = {}
        probs = self.probs[index] if self.probs is not None else None
        records = [(CLASS_NAMES[c], encode(crop, self.encoding), label) for c, crop, label in
                   sample_image(img, boxes, self.size, self.base_num, self.prob_thresh, probs,
                                image_rng(seed, index), stats, self.min_face)]
        return records, stats


def generate(anno_path, size, out_dir, base_num=StagePlan.base_num, prob_thresh=0.0, prob_file=None, fmt='packed',
             workers=1, seed=0, limit=0, min_face=DataSettings.min_face, encoding='auto'):
    from prepare_data.runner import run
    anno = read_anno(anno_path)
    if limit:
        anno = anno[:limit]
    probs = read_prob(prob_file, anno) if prob_file else None
    if encoding == 'auto':  # raw pixels are no bigger than a JPEG up to 24 px, and need no decoding
        encoding = 'raw' if fmt == 'packed' and size <= 24 else 'jpeg'
    job = SampleJob(anno, probs, size, base_num, prob_thresh if prob_file else 0.0, min_face, encoding)
    st = os.stat(anno_path)
    config_ = dict(anno=os.path.abspath(anno_path), anno_stamp=[st.st_size, st.st_mtime_ns], size=size, base_num=base_num,
                   prob_thresh=prob_thresh if prob_file else None,
                   prob_file=os.path.abspath(prob_file) if prob_file else None, limit=limit, min_face=min_face,
                   encoding=encoding)
    return run(job, list(range(len(anno))), os.path.join(out_dir, str(size)), ['pos', 'part', 'neg'],
               config_, fmt=fmt, workers=workers, seed=seed, desc='gen_data %d' % size)


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--anno', default=None, help='anno.txt (default: <root>/data/wider/anno.txt)')
    ap.add_argument('--size', type=int, required=True, choices=sorted(STAGE_KINDS))
    ap.add_argument('--base_num', type=cli.number(int, low=1), default=StagePlan.base_num)
    ap.add_argument('--prob_thresh', type=cli.number(float, low=0, high=1), default=DataSettings.prob_thresh,
                    help="with --prob_file: faces scoring below give no samples (every .bat of the original: 0.15)")
    ap.add_argument('--prob_file', default=None, help='per-box scores, one line per anno.txt line')
    ap.add_argument('--min_face', type=cli.number(int, low=1), default=DataSettings.min_face, help='faces smaller than this give no samples')
    ap.add_argument('--out', default=None, help='output root (default: <root>/data/samples)')
    ap.add_argument('--format', choices=['packed', 'jpg'], default='packed')
    ap.add_argument('--workers', '--thread_num', type=cli.number(int, low=0), default=max(1, os.cpu_count() or 1))
    ap.add_argument('--encoding', choices=['auto', 'jpeg', 'raw'], default='auto',
                    help='packed crops: auto = raw pixels up to 24 px, JPEG above (MXNet readers need jpeg)')
    ap.add_argument('--seed', type=cli.number(int, low=0), default=0)
    ap.add_argument('--limit', type=cli.number(int, low=0), default=0, help='only the first N images')
    add_config_args(ap)
    args = ap.parse_args(argv)
    apply_config_args(args)
    anno = args.anno or data_dir('wider', 'anno.txt')
    out = args.out or data_dir('samples')
    try:
        manifest = generate(anno, args.size, out, args.base_num, args.prob_thresh, args.prob_file,
                            args.format, args.workers, args.seed, args.limit, args.min_face, args.encoding)
    except (OSError, AnnotationError) as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 2
    print('size %d: %s; %s' % (args.size, ' '.join('%s=%d' % kv for kv in sorted(manifest['counts'].items())),
                               ' '.join('%s=%d' % kv for kv in sorted(manifest['stats'].items())
                                        if not isinstance(kv[1], list))))
    skipped = skip_summary(manifest)
    if skipped:
        print('warning: ' + skipped)
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
