"""Typed training recipes: every setting of a trainer run with one name, one default and one home.

A :class:`StageRecipe` is what one .bat training step of the original says: the net, its data, its
switches, and its :class:`Phase` list (one trainer command each; a later phase continues from the
checkpoint the one before ended with). :class:`RunOptions` are the settings of one invocation that
do not change what is learned (devices, workers, where to resume). Each field's default below is the
original's value, written nowhere else, and its field states the values it accepts (core/recipes/fields.py):
the entry points generate their flags from these fields (``cli.training_parser``), and a pipeline
writes each training stage's resolved recipe as a file the trainer reads (``--recipe``).

Recipe files are JSON objects under ``scripts/recipes/train/`` (``--recipe NAME``) or anywhere
(``--recipe path.json``). ``"_base_": "P20.json"`` inherits another file (a path relative to the
inheriting file), which then states only what differs; a ``phases`` list replaces the base's whole
list, and each phase entry states only what differs from :class:`Phase`'s defaults. Keys starting
with ``_`` are comments.
"""
import dataclasses
import os
import typing

from config import REPO_ROOT
from core.common.errors import SettingError
from core.common.fileio import FormatError, load_json

from . import fields as F
from .fields import build, coerce, fields, flag_text, to_dict  # noqa: F401  (the recipe API)

RECIPE_DIR = os.path.join(REPO_ROOT, 'scripts', 'recipes', 'train')

# which nets a flag applies to (an entry point shows the flags of the nets it trains)
ALL, LANDMARK, LNET = ('pnet', 'rnet', 'onet', 'lnet'), ('onet', 'lnet'), ('lnet',)
DETECTION = ('pnet', 'rnet', 'onet')


def _field(default, doc, kinds=ALL, **accepted):
    return F.field(default, doc, kinds, **accepted)


@dataclasses.dataclass(frozen=True)
class Phase:
    """One trainer command of a recipe: its schedule, batch and optimizer."""
    lr: float = _field(0.01, 'learning rate (losses are means over a batch)', ALL, above=0)
    lr_epoch: typing.Tuple[int, ...] = _field((8, 14), 'epochs where lr is multiplied by 0.1', ALL, low=1)
    end_epoch: int = _field(16, 'last epoch', ALL, low=1)
    batch_size: int = _field(512, 'samples per step (all devices)', ALL, low=1)
    frequent: int = _field(100, 'log every this many batches', ALL, low=1)
    wd: float = _field(1e-5, 'weight decay (weights and gammas)', ALL, low=0)
    optimizer: str = _field('sgd', "SGD with momentum 0.9 (the original's) or Adam (beta1 0.9)", ALL, choices=('sgd', 'adam'))
    begin_epoch: typing.Optional[int] = _field(None, 'first epoch (with --resume: the checkpoint to continue from; '
                                                     'none: 0 in a first phase, the newest checkpoint in a later one)', ALL, low=0)
    resume: bool = _field(False, 'continue from --prefix at --begin_epoch (else from --pretrained at --epoch)', ALL)
    fresh_optimizer: bool = _field(True, "a later phase: start a fresh optimizer from the previous phase's last "
                                         "weights (the original's second .bat command); off: continue its state "
                                         'when lr, schedule and batch are unchanged', ALL)


@dataclasses.dataclass(frozen=True)
class StageRecipe:
    """One training step: the net, its data and switches, and its phases."""
    script: str = _field('', 'the entry point that runs it (train_P20.py, ...)', kinds=())
    network: str = _field('', 'registered variant (case-insensitive)', ALL)
    image_set: str = _field('', 'training list: a path, or a name under data/imglists', ALL)
    prefix: str = _field('', 'checkpoint prefix (relative paths: under the project root)', ALL)
    phases: typing.Tuple[Phase, ...] = _field((Phase(),), 'the trainer commands', kinds=())
    seed: int = _field(0, 'seed of initialisation, shuffling, augmentation and the held-out split', ALL, low=0,
                       high=2 ** 32 - 1)
    val_ratio: float = _field(0.02, 'held-out fraction when there is no --val_list', ALL, low=0, below=1)
    save_every: int = _field(1, 'checkpoint every N epochs (and the last)', ALL, low=1)
    ohem: bool = _field(True, 'online hard example mining in the losses (off: keep every sample)', ALL)
    flip: bool = _field(True, 'double the epoch with mirrored samples (sample lists)', ALL)
    prelu_init: float = _field(1.0, "initial PReLU slope (the original's 1.0, the identity)", ALL)
    bn_momentum: float = _field(0.9, "training graphs' BatchNorm momentum per chunk: the stored statistics "
                                     "average about the last 1/(1 - m) chunks (the original's 0.9: the last ten, so "
                                     'a checkpoint scores as its last batches happened to fall); the weights train '
                                     'the same either way', ALL, low=0, below=1)
    teacher: str = _field('', "distillation: soft targets from a teacher net for every sample — 'caffe' (the "
                              "original MTCNN's net of the stage, MIT), 'caffe:<folder>' or '<checkpoint prefix>:<epoch>'; "
                              "empty: none (see core/train/teacher.py)", kinds=DETECTION)
    teacher_weight: float = _field(0.5, "distillation: the teacher's share of the classification and box losses "
                                        '(1 - weight: the hard labels)', kinds=DETECTION, low=0, high=1)
    teacher_box: bool = _field(False, "distillation: also learn the teacher's box offsets (and an Onet head its "
                                      'points); off: its face probability only, boxes from the hard targets (the '
                                      "dev split's choice for the Pnet)", kinds=DETECTION)
    teacher_temperature: float = _field(1.0, 'distillation: softmax temperature of teacher and student (the loss '
                                             'is scaled by its square)', kinds=DETECTION, above=0)
    basenum: typing.Optional[int] = _field(None, 'Lnet width (16/32/64/128; none: the variant\'s own, 32)', LNET, low=1)
    with_landmark: bool = _field(False, 'also train the 5-point head on landmark samples (label -2)', kinds=('onet',))
    landmark_loss: str = _field('l2', "landmark regression: squared error (the original's), absolute error or "
                                      'the wing loss (see wing)', kinds=LANDMARK, choices=('l2', 'l1', 'wing'))
    wing: typing.Tuple[float, ...] = _field((0.1, 0.02), 'wing loss: w (where the log part ends) and its curvature '
                                                         'epsilon, in fractions of the crop', LANDMARK, above=0, length=2)
    target_norm: bool = _field(False, "freeze the landmark output BatchNorm at the training targets' mean and std, "
                                      'so the net learns standardised targets (the inference graph is unchanged)',
                               kinds=LANDMARK)
    online: bool = _field(False, 'online augmentation from a landmark list (rotation, crop, flip, blur); off '
                                 '(--offline): pre-cut crops (a sample list)', kinds=LNET)
    list_format: str = _field('cuhk', 'online landmark list format', kinds=LNET, choices=('celeba', 'cuhk', 'l106'))
    framing: str = _field('original', "online 5-point crops: the original's random 0.5-2.5x crops, or the "
                                      "detector's box of each face (prepare_data/landmark_boxes.py) slightly jittered",
                          kinds=LNET, choices=('original', 'box'))
    box_jitter: typing.Tuple[float, ...] = _field((0.05, 0.1, 15.0), 'framing box: centre shift and side scale '
                                                                     '(fractions of the side), rotation (degrees)',
                                                  LNET, low=0, length=3)
    min_landmark_size: float = _field(0.0, 'online: keep faces whose landmark extent is at least this many pixels',
                                      LNET, low=0)
    photometric: bool = _field(True, 'online landmark lists: the brightness, grey/colour, noise and blur switches '
                                     'below (off: geometric augmentation only)', kinds=LNET)
    # the original's config.py augmentation switches: every training batch gets a brightness factor,
    # then grey or per-channel gains, then Gaussian noise; landmark batches are also blurred
    enable_gray: bool = _field(True, 'grey copies among the colour augmentation', ALL)
    enable_color_jitter: bool = _field(True, 'brightness and per-channel gains', ALL)
    enable_gaussian_noise: bool = _field(True, 'Gaussian noise', ALL)
    enable_blur: bool = _field(True, 'blur landmark batches', kinds=LNET)
    enable_black_border: bool = _field(False, 'a grey band over part of each crop (P/R/O: from the left, up to 0.6 '
                                              'of the side; 106-point crops: left or right, up to half the side)',
                                       ALL)
    min_rot_angle: int = _field(-45, 'online landmark crops: smallest rotation (degrees)', LNET, low=-180, high=180)
    max_rot_angle: int = _field(45, 'online landmark crops: largest rotation (degrees)', LNET, low=-180, high=180)
    landmark106_migu_weighting: bool = _field(False, '106 points: double the eyebrow and lip targets (4x their loss; '
                                                     'predictions are halved when such a net runs)', kinds=LNET)
    landmark106_migu_random_flip: bool = _field(False, '106 points: mirror crops (re-indexing the points)', kinds=LNET)
    landmark106_migu_init_rot: bool = _field(False, '106 points: make each face upright before its random rotation',
                                             kinds=LNET)

    def phase(self, n):
        """Phase ``n`` (1-based), with a clear error when the recipe has fewer."""
        if not 1 <= n <= len(self.phases):
            raise SettingError('recipe %s has %d phase(s), not %d' % (self.prefix or self.network, len(self.phases), n))
        return self.phases[n - 1]

    def augment(self):
        """The augmentation switches and landmark framing, by name (what the batch makers read)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name.startswith(('enable_', 'landmark106_')) or f.name.endswith('_rot_angle')
                or f.name in ('photometric', 'framing', 'box_jitter')}


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """Settings of one invocation that do not change what is learned."""
    val_list: typing.Optional[str] = _field(None, 'validation list (default: a held-out split of the training list)',
                                            ALL)
    image_root: typing.Optional[str] = _field(None, "online landmark lists: image folder (default: data/<config."
                                                    "landmark_img_set> for a list named under data/imglists, else "
                                                    "the list's folder)", kinds=LNET)
    pretrained: typing.Optional[str] = _field(None, 'checkpoint prefix to start from (with --epoch)', ALL)
    epoch: typing.Optional[int] = _field(None, 'epoch of --pretrained', ALL, low=0)
    micro_batch: int = _field(-1, 'chunk size of gradient accumulation (-1 auto: cache-sized on CPU; 0 off); '
                                  'chunks do OHEM and BN like devices', ALL, low=-1)
    gpus: str = _field('', 'e.g. 0 or 0,1; empty = CPU (environment variable GPUS)', ALL)
    kvstore: str = _field('device', 'device, local, or dist_sync (see tools/launch.py)', ALL)
    workers: int = _field(2, 'processes decoding and augmenting batches (0 = in the training process)', ALL, low=0)
    threads: int = _field(0, "compute threads of the training process (0 auto: the cores the loader workers leave, "
                             "at least 1; see core/train/threads.py)", ALL, low=0)
    quiet: bool = _field(False, 'no progress bar', ALL)


def _phases(value, where):
    if not isinstance(value, (list, tuple)) or not value:
        raise SettingError('%s: phases must be a non-empty list of phase settings' % where)
    return tuple(p if isinstance(p, Phase) else build(Phase, p, '%s[%d]' % (where, i)) for i, p in enumerate(value, 1))


def build_stage(values, where):
    """A :class:`StageRecipe` from its settings (``phases``: a list of :class:`Phase` settings), checked."""
    return validate(build(StageRecipe, values, where, nested={'phases': _phases}), where)


def validate(recipe, where):
    """The checks that involve two settings of a recipe (each setting's own are its field's)."""
    if recipe.min_rot_angle > recipe.max_rot_angle:
        raise SettingError('%s: min_rot_angle=%d is above max_rot_angle=%d' % (where, recipe.min_rot_angle,
                                                                              recipe.max_rot_angle))
    return recipe


# --- files --------------------------------------------------------------------------------------------

def recipe_path(name):
    """A recipe file: a path as given, or ``scripts/recipes/train/<name>.json``."""
    if os.path.isfile(name):
        return name
    path = os.path.join(RECIPE_DIR, name if name.endswith('.json') else name + '.json')
    if not os.path.isfile(path):
        raise FileNotFoundError('training recipe not found: %s (a path, or one of %s)' % (name, ', '.join(names())))
    return path


def names():
    """Every recipe under ``scripts/recipes/train``."""
    return sorted(n[:-5] for n in os.listdir(RECIPE_DIR) if n.endswith('.json'))


def inherited(path, what='training recipe', seen=()):
    """[(file, settings)] of a recipe file and the files its ``"_base_"`` chain names (each relative to
    the file naming it), the deepest base first. Used by training and pipeline recipes alike."""
    path = os.path.abspath(path)
    if path in seen:
        raise FormatError('%s: _base_ chain loops back to itself' % path)
    data = load_json(path, what)
    if not isinstance(data, dict):
        raise FormatError('%s: a %s is a JSON object of settings' % (path, what))
    base = data.get('_base_')
    return (inherited(os.path.join(os.path.dirname(path), base), what, seen + (path,)) if base else []) + \
        [(path, data)]


def _raw(path):
    """A training recipe file's settings with its ``_base_`` chain merged in (the file's own win)."""
    merged = {}
    for _, data in inherited(path):
        merged.update({k: v for k, v in data.items() if not k.startswith('_')})
    return merged


def load(name):
    """The :class:`StageRecipe` of a recipe name or file."""
    path = recipe_path(name)
    return build_stage(_raw(path), path)


def for_script(script):
    """The recipes an entry point runs (the files naming ``script``), in name order."""
    return [n for n in names() if _raw(recipe_path(n)).get('script') == script]


def override(recipe, phase, values, where):
    """``recipe`` with recipe-level ``values`` replaced and phase-level ones applied to phase ``phase``."""
    by_stage = {f.name: f for f in dataclasses.fields(StageRecipe)}
    by_phase = {f.name: f for f in dataclasses.fields(Phase)}
    top, ph = {}, {}
    for k, v in values.items():
        if k in by_stage and k != 'phases':
            top[k] = coerce(by_stage[k], v, where)
        elif k in by_phase:
            ph[k] = coerce(by_phase[k], v, where)
        else:
            raise F.unknown(StageRecipe, k, where, list(by_stage) + list(by_phase))
    if ph:
        phases = list(recipe.phases)
        phases[phase - 1] = dataclasses.replace(recipe.phase(phase), **ph)
        top['phases'] = tuple(phases)
    return validate(dataclasses.replace(recipe, **top), where)
