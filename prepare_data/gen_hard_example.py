"""Hard-example mining with the previous cascade stages.

    python prepare_data/gen_hard_example.py --test_mode hardpnet20 --prefix model/pnet20 --epoch 16 --thresh 0.5
    python prepare_data/gen_hard_example.py --test_mode onet --prefix model/pnet20_hard,model/rnet \
        --epoch 16,16 --thresh 0.6,0.5 [--target_recall 0.97]

Modes: ``hardpnet20`` / ``hardpnet16`` (Pnet only, crops at 20/16), ``rnet`` (Pnet → 24),
``onet`` (Pnet+Rnet → 48), ``hardrnet`` (Pnet+Rnet → 24), ``hardonet`` (all three → 48). The
cascade's last stage gives its pre-regression candidates; each is squared and rounded, skipped if
smaller than 20 px or leaving the image, and labelled as the original: IoU < 0.1 with every face →
hard negative (``neg_hard``). ``--keep_pos_part`` also keeps IoU ≥ 0.65 / ≥ 0.4 candidates as
``pos_hard`` / ``part_hard`` with their offsets, as upstream MTCNN does.

Prints the last stage's recall on the training faces (IoU ≥ 0.5, faces ≥ ``--min_face``) and the
candidates per image. ``--target_recall R`` first picks the last stage's threshold on
``--calib_images`` images so that recall ≥ R (the rule users apply by hand), then mines with it.
Parallel, resumable and packed like gen_data.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402
from config import add_config_args, apply_config_args, data_dir  # noqa: E402
from core.common.boxes import iou_matrix  # noqa: E402
from core.common.fileio import NEGATIVE, PART, POSITIVE  # noqa: E402
from core.recipes.cascade_settings import DEFAULTS, stage_thresholds  # noqa: E402
from core.common.errors import InputError  # noqa: E402

MODES = {'hardpnet20': (1, 20), 'hardpnet16': (1, 16), 'rnet': (1, 24), 'onet': (2, 48),
         'hardrnet': (2, 24), 'hardonet': (3, 48)}


# class of a labelled candidate: its pool (hard negatives go to the run's --target_fold) and label code
KINDS = ('neg_hard', 'pos_hard', 'part_hard')
CODES = np.array([NEGATIVE, POSITIVE, PART], np.float32)


def label_candidates(cands, gt, w, h, keep_pos_part=False):
    """(kind per candidate kept: index into KINDS, square boxes x1 y1 x2 y2, offsets) of one image's candidates,
    in candidate order."""
    from core.common import boxes as bx
    none = (np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros((0, 4), np.float32))
    if len(cands) == 0:
        return none
    sq = bx.square(cands)
    sq[:, :4] = np.round(sq[:, :4])
    side = sq[:, 2] - sq[:, 0] + 1
    ok = (side >= 20) & (sq[:, 0] >= 0) & (sq[:, 1] >= 0) & (sq[:, 2] <= w - 1) & (sq[:, 3] <= h - 1)
    sq = sq[ok, :4]
    if len(sq) == 0:
        return none
    ovr = iou_matrix(sq, gt) if len(gt) else np.zeros((len(sq), 1))
    best, arg = ovr.max(1), ovr.argmax(1)
    kind = np.full(len(sq), -1, np.int64)
    kind[best < 0.1] = 0
    if keep_pos_part:
        kind[best >= 0.4] = 2
        kind[best >= 0.65] = 1
    keep = kind >= 0
    sq, kind, arg = sq[keep], kind[keep], arg[keep]
    offsets = np.zeros((len(sq), 4), np.float32)
    face = kind > 0
    if face.any():  # (gt - crop) / side, as the original's float32 arithmetic does it
        s = (sq[face, 2] - sq[face, 0] + 1)[:, None]
        offsets[face] = ((gt[arg[face]][:, :4] - sq[face]) / s).astype(np.float32)
    return kind, sq, offsets


# the original gen_hard_example.py's threshold for every net when --thresh is not given
MINE_THRESH = 0.3


class MiningJob:
    """Per image: run the cascade, label its last stage's candidates, crop and encode.

    With the ONNX backend, :meth:`prepare` (in the starting process) exports the nets once; the workers
    open them with ONNX Runtime alone: no MXNet import and no export per worker."""

    def __init__(self, anno, prefixes, epochs, thresh, min_face, size, keep_pos_part, backend, networks=None,
                 gpus=''):
        self.anno, self.prefixes, self.epochs, self.thresh = anno, prefixes, epochs, thresh
        self.min_face, self.size, self.keep_pos_part, self.backend = min_face, size, keep_pos_part, backend
        self.networks = networks or [None] * len(prefixes)
        self.gpus, self.fold = gpus, 'neg_hard'
        self.exported = None  # backend onnx: the nets as core.export.onnx_export.portable dicts
        self.det = None

    def prepare(self):
        if self.backend == 'onnx' and self.exported is None:
            from core.detect.cascade import load_stage_models
            from core.export.onnx_export import portable
            self.exported = [portable(m) for m in load_stage_models(self.prefixes, self.epochs, self.networks)]
        return self

    def __getstate__(self):  # sent to each worker once: not the detector
        return dict(self.__dict__, det=None)

    def detector(self):
        if self.det is None:
            from core.recipes.cascade_settings import DEFAULTS
            settings = DEFAULTS.replace('mining', thresh=tuple(self.thresh), min_face=self.min_face)
            if self.exported is not None:
                from core.detect.detector import MtcnnDetector
                from core.runtime.onnx_runtime import OnnxModel
                models = [OnnxModel.from_portable(m, threads=1) for m in self.exported]
                self.det = MtcnnDetector(*models, settings=settings)
                return self.det
            from core.detect.cascade import build_cascade
            ctx = None
            if self.gpus and self.backend == 'mxnet':
                from core.common.devices import contexts
                ctx = contexts(self.gpus)[0]
            self.det = build_cascade(self.prefixes, self.epochs, self.networks, settings, backend=self.backend,
                                    threads=1, ctx=ctx)
        return self.det

    def candidates(self, img):
        det = self.detector()
        return det.detect_face(img, candidates=True)

    def __call__(self, index, seed):
        from core.common.boxes import crop_batch
        from core.common.image import read_image
        from prepare_data.writers import encode
        path, gt = self.anno[index]
        # a broken image, or a huge one (gigabytes in the Pnet pyramid): a counted skip (prepare_data/runner.py)
        img = read_image(path)
        h, w = img.shape[:2]
        cands = self.candidates(img)
        big = gt[np.maximum(gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1]) >= self.min_face] if len(gt) else gt
        recalled = 0
        if len(big) and len(cands):
            recalled = int((iou_matrix(big, cands[:, :4]).max(1) >= 0.5).sum())
        stats = {'images': 1, 'candidates': len(cands), 'faces': len(big), 'recalled': recalled}
        kind, boxes, offsets = label_candidates(cands, gt, w, h, self.keep_pos_part)
        if not len(kind):
            return [], stats
        crops, _ = crop_batch(img, boxes, self.size, check_geometry=False, normalise=False)
        labels = np.c_[CODES[kind], offsets].astype(np.float32)
        enc = 'raw' if self.size <= 24 else 'jpeg'
        names = [self.fold] + list(KINDS[1:])
        for k, n in zip(*np.unique(kind, return_counts=True)):
            stats[names[k]] = int(n)
        return [(names[k], encode(crop, enc), label) for k, crop, label in zip(kind, crops, labels)], stats


def pick_threshold(job, indices, target):
    """Highest last-stage threshold whose recall on the training faces is ≥ ``target``."""
    import cv2
    from tqdm import tqdm
    stage = len(job.prefixes) - 1
    saved = list(job.thresh)
    job.thresh = saved[:stage] + [0.0]
    job.det = None
    best_scores = []
    for i in tqdm(indices, desc='calibrate', unit='img'):
        path, gt = job.anno[i]
        img = cv2.imread(path)
        if img is None or len(gt) == 0:
            continue
        gt = gt[np.maximum(gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1]) >= job.min_face]
        if not len(gt):
            continue
        cands = job.candidates(img)
        if len(cands) == 0:
            best_scores += [-1.0] * len(gt)
            continue
        ovr = iou_matrix(gt, cands[:, :4])
        s = np.where(ovr >= 0.5, cands[None, :, 4], -1.0).max(1)
        best_scores += list(s)
    job.det = None
    scores = np.sort(np.asarray(best_scores))[::-1]
    if not len(scores):
        return saved[stage], 0.0
    k = int(np.ceil(target * len(scores))) - 1
    t = float(max(scores[min(k, len(scores) - 1)] - 1e-6, 0.0))
    job.thresh = saved[:stage] + [t]
    return t, float((scores > t).mean())


def _parse(argv):
    ap = cli.parser(__doc__)
    ap.add_argument('--test_mode', choices=sorted(MODES), required=True)
    ap.add_argument('--prefix', required=True, help='checkpoint prefixes P[,R[,O]]')
    ap.add_argument('--epoch', required=True, help='epochs, one per prefix')
    ap.add_argument('--networks', default=None, help='registered variants (default: from the checkpoints)')
    ap.add_argument('--thresh', default=None, help="one threshold per net of --test_mode, each in [0, 1] (default: "
                    "the original script's %g for each; its .bat files pass 0.5 for P and R mining, 0.6,0.5 for O)"
                    % MINE_THRESH)
    ap.add_argument('--min_face', default=None, help='smallest face in pixels (default %g)' % DEFAULTS.min_face)
    ap.add_argument('--anno', default=None, help='anno.txt (default <root>/data/wider/anno.txt)')
    ap.add_argument('--out', default=None, help='sample root (default <root>/data/samples)')
    ap.add_argument('--target_size', type=cli.number(int, low=1), default=None, help='crop size (default from the mode)')
    ap.add_argument('--target_fold', default='neg_hard', help='name of the mined pool (neg_hard1, neg_hard2, ... for '
                    'gen_imglist --plus)')
    ap.add_argument('--keep_pos_part', action='store_true', help='also keep mined positives/parts as pos_hard and '
                    'part_hard pools (upstream MTCNN does; gen_imglist --classes picks them up)')
    ap.add_argument('--target_recall', type=cli.number(float, above=0, high=1), default=None, help='pick the last threshold for this recall')
    ap.add_argument('--calib_images', type=cli.number(int, low=1), default=200)
    ap.add_argument('--min_recall', type=cli.number(float, low=0, high=1), default=0.05,
                    help='fail when the cascade recalls fewer of the training faces (a stage too weak to mine with)')
    ap.add_argument('--backend', choices=['mxnet', 'onnx'], default='mxnet')
    ap.add_argument('--gpus', default='', help='MXNet backend: GPU id for the nets (empty = CPU)')
    ap.add_argument('--workers', '--thread_num', type=cli.number(int, low=0), default=max(1, os.cpu_count() or 1))
    ap.add_argument('--limit', type=cli.number(int, low=0), default=0)
    ap.add_argument('--seed', type=cli.number(int, low=0), default=0)
    add_config_args(ap)
    args = ap.parse_args(argv)
    apply_config_args(args)
    return ap, args


def main(argv=None):
    from prepare_data.runner import run, skip_summary
    from prepare_data.wider import read_anno
    ap, args = _parse(argv)
    n_stages, size = MODES[args.test_mode]
    size = args.target_size or size
    prefixes = cli.csv_list(args.prefix)[:n_stages]
    epochs = cli.csv_list(args.epoch, int, 'epoch')[:n_stages]
    if len(prefixes) < n_stages or len(epochs) < n_stages:
        ap.error('--test_mode %s needs %d prefixes and epochs' % (args.test_mode, n_stages))
    thresh = list(stage_thresholds(args.thresh, n_stages, '--thresh') if args.thresh else [MINE_THRESH] * n_stages)
    args.min_face = DEFAULTS.replace('--min_face', min_face=args.min_face).min_face
    anno = read_anno(args.anno or data_dir('wider', 'anno.txt'))[:args.limit or None]
    job = MiningJob(anno, prefixes, epochs, thresh, args.min_face, size, args.keep_pos_part, args.backend,
                    cli.csv_list(args.networks) if args.networks else None, args.gpus).prepare()
    if args.target_recall:
        idx = np.random.RandomState(args.seed).permutation(len(anno))[:args.calib_images]
        t, r = pick_threshold(job, list(idx), args.target_recall)
        print('threshold of stage %d for recall %.3f: %.4f (recall %.4f on %d calibration images)'
              % (n_stages, args.target_recall, t, r, len(idx)))
    fold = args.target_fold
    classes = [fold] + (['pos_hard', 'part_hard'] if args.keep_pos_part else [])
    job.fold = fold
    stamps = []  # a retrained model must invalidate an earlier, finished mining run
    for p, e in zip(prefixes, epochs):
        st = os.stat('%s-%04d.params' % (p, e)) if os.path.exists('%s-%04d.params' % (p, e)) else None
        stamps.append([st.st_size, st.st_mtime_ns] if st else None)
    cfg = dict(mode=args.test_mode, prefixes=[os.path.abspath(p) for p in prefixes], epochs=epochs, models=stamps,
               thresh=job.thresh, min_face=args.min_face, size=size, keep_pos_part=args.keep_pos_part,
               n=len(anno), backend=args.backend, fold=fold)
    out = os.path.join(args.out or data_dir('samples'), str(size))
    man = run(job, list(range(len(anno))), out, classes, cfg, workers=args.workers, seed=args.seed,
              desc='mine %s' % args.test_mode, manifest_name='manifest_hard.json' if fold == 'neg_hard'
              else 'manifest_%s.json' % fold)
    st = man['stats']
    recall = st.get('recalled', 0) / max(1, st.get('faces', 0))
    print('%s: %s; recall %.4f of %d faces; %.1f candidates/image' % (
        out, ' '.join('%s=%d' % kv for kv in sorted(man['counts'].items())), recall, st.get('faces', 0),
        st.get('candidates', 0) / max(1, st.get('images', 1))))
    skipped = skip_summary(man)
    if skipped:
        print('warning: ' + skipped)
    if recall < args.min_recall:
        raise InputError('%s: the cascade found only %.1f %% of the training faces: the stage it mines with is too '
                         'weak (train it longer) or --thresh %s is too high; the mined pool is not usable'
                         % (out, 100 * recall, args.thresh))
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
