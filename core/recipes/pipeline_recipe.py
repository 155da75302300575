"""Pipeline recipes: the whole cascade as one typed recipe made of stage recipes, and the stages it runs.

A pipeline recipe is a JSON object (every section and key optional)::

    {"_base_": "default.json",
     "seed": 1, "workers": 1,
     "data": {"dev_fraction": 0.15, "min_face": 24},
     "p":  {"base_num": 4, "train": {"network": "Pnet20_v1", "phases": [{"lr": 0.02, "end_epoch": 8}]}},
     "ph": {"mine_thresh": [0.5], "from_p": true, "train": {...}},
     "r":  {"base_num": 2, "mine_thresh": [0.3], "train": {...}},
     "o":  {"base_num": 2, "mine_thresh": [0.3, 0.3], "train": {"network": "Onet_v1", "flip": false, ...}},
     "extra": {"list": "new_training.txt", "train": {...}},
     "detector": {"thresh": [0.2, 0.3, 0.5]}}

``p``, ``ph`` (P with hard negatives), ``r`` and ``o`` are the training stages of the original's .bat
sequence, ``extra`` an optional Onet fine-tune on the faces of a 5-point list. Each stage's ``train`` is a
training recipe (:class:`core.recipes.training_recipe.StageRecipe`, the format of
``scripts/recipes/train/*.json``) stated on top of that stage's base recipe (:data:`STAGE_BASES`); the
pipeline sets its list, prefix and seed. ``detector`` holds the :class:`CascadeSettings` of the mining,
boxing and evaluation stages (their minimum face; the evaluation's thresholds and options).

Every recipe starts from ``scripts/recipes/original.json``, which states what the original's .bat files
do beyond the defaults of the fields below; a file names another as ``"_base_"`` (relative to itself)
and is merged on top of it key by key (objects merged, lists replaced whole); ``--set key.path=value``
comes last. One validation: :func:`resolve` checks every value against its field (type, range, length)
and names the file and key of a bad one.
"""
import copy
import dataclasses
import json
import os
import sys
import typing

from config import REPO_ROOT
from core.common.errors import SettingError
from core.common.stage_runner import Stage

from . import training_recipe as T
from .cascade_settings import DEFAULTS as DETECTOR, CascadeSettings
from .fields import build, coerce, field, flag_text, to_dict, unknown

RECIPES = os.path.join(REPO_ROOT, 'scripts', 'recipes')
ORIGINAL_RECIPE = os.path.join(RECIPES, 'original.json')
DEFAULT_RECIPE = os.path.join(RECIPES, 'default.json')
DEMO_RECIPE = os.path.join(RECIPES, 'demo.json')

# The training stages: the training recipe (scripts/recipes/train) each is stated on top of, and the
# pipeline settings that apply to it besides ``train``.
STAGE_BASES = {'p': 'P20', 'ph': 'P20_hard', 'r': 'R', 'o': 'O', 'extra': 'O'}
APPLIES = {'p': ('base_num',), 'ph': ('mine_thresh', 'use_epoch', 'from_p', 'hard_teacher_share'),
           'r': ('base_num', 'mine_thresh', 'use_epoch', 'hard_teacher_share'),
           'o': ('base_num', 'mine_thresh', 'hard_teacher_share')}
MINING_NETS = {'ph': 1, 'r': 1, 'o': 2}  # nets that mine a stage's hard negatives (P; P; P and R)
SET_BY_PIPELINE = ('script', 'image_set', 'prefix', 'seed')


@dataclasses.dataclass(frozen=True)
class DataSettings:
    """The WIDER annotations, the dev split and the sample generation."""
    dev_fraction: float = field(0.0, "share of every event's images held out as the dev split, on which the eval "
                                     'stage runs (0: none; eval on WIDER val)', low=0, below=1)
    dev_seed: int = field(0, 'seed of the dev split', low=0)
    train_fraction: float = field(1.0, 'share of the remaining training images used (learning curves)', above=0,
                                  high=1)
    limit_images: typing.Optional[int] = field(None, 'only the first N training images (quick runs; none: all)', low=1)
    prob_file: typing.Optional[str] = field(None, "the original's prob.txt: one score per face of anno.txt")
    prob_thresh: float = field(0.15, 'with prob_file: faces scored below it give no samples (the .bat files\' 0.15)',
                               low=0, high=1)
    min_face: int = field(40, 'faces smaller than this (larger side, pixels) give no positives or parts', low=1)
    keep_ratio: bool = field(False, 'lists with mined negatives keep pos:part:neg:hard 1:1:2:1 when a pool is short')


@dataclasses.dataclass(frozen=True)
class StagePlan:
    """A training stage: its samples, how its hard negatives are mined, and its training recipe."""
    base_num: int = field(1, "samples per face (negatives, and each list's counts; the .bat files' 1); ph uses "
                             "p's samples", low=1)
    mine_thresh: typing.Optional[typing.Tuple[float, ...]] = field(
        None, 'thresholds of the nets that mine its hard negatives (P for ph and r, P and R for o)', low=0, high=1,
        length=(1, 2))
    use_epoch: typing.Optional[int] = field(None, 'the checkpoint the later stages use (none: its last epoch)', low=1)
    from_p: bool = field(False, "start from the first Pnet's last epoch (the original trains it from scratch)")
    hard_teacher_share: float = field(0.0, "share of the list's mined negatives taken as those its train.teacher "
                                           'finds most face-like, the rest at random (0: all at random, as the '
                                           'original)', low=0, high=1)
    train: T.StageRecipe = None


@dataclasses.dataclass(frozen=True)
class ExtraFaces:
    """Extra Onet faces (not in the original): a 5-point list's faces, checked, boxed by the run's own cascade,
    cut into 48 px positives and parts, and the Onet fine-tuned on its list plus them."""
    list: typing.Optional[str] = field(None, 'a 5-point list (cuhk format); none: no extra stage; a relative '
                                             'path is found under --landmark_root')
    base_num: int = field(1, 'samples per extra face', low=1)
    box_thresh: typing.Tuple[float, ...] = field((0.2, 0.3, 0.1), 'thresholds of the cascade that boxes the faces '
                                                 '(its Onet mirrored, two passes)', low=0, high=1, length=3)
    train: T.StageRecipe = None


@dataclasses.dataclass(frozen=True)
class PipelineRecipe:
    seed: int = field(T.StageRecipe.seed, 'seed of sample generation, lists and every training stage', low=0,
                      high=2 ** 32 - 1)
    workers: int = field(T.RunOptions.workers, 'processes of each data and training stage', low=0)
    data: DataSettings = DataSettings()
    p: StagePlan = None
    ph: StagePlan = None
    r: StagePlan = None
    o: StagePlan = None
    extra: ExtraFaces = None
    detector: CascadeSettings = DETECTOR

    def stage(self, k):
        return getattr(self, k)


# --- loading ---------------------------------------------------------------------------------------------

def merge(base, top):
    """``top`` merged into a copy of ``base``: objects key by key, everything else (lists too) replaced."""
    out = copy.deepcopy(base)
    for k, v in top.items():
        if k.startswith('_'):
            continue
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def _chain(path):
    """The files a recipe is made of, original.json first."""
    files = T.inherited(path, 'pipeline recipe')
    if not any(os.path.samefile(f, ORIGINAL_RECIPE) for f, _ in files if os.path.exists(f)):
        files = T.inherited(ORIGINAL_RECIPE, 'pipeline recipe') + files
    return files


def parse_set(text):
    """``key.path=value`` of ``--set`` as a nested object (``o.train.phases.1.lr=0.05``: phase 1)."""
    path, sep, value = text.partition('=')
    if not sep or not path.strip():
        raise SettingError('--set takes key.path=value (e.g. o.train.phases.1.lr=0.05), got %r' % text)
    try:
        value = json.loads(value)
    except ValueError:
        pass  # plain text: each field reads it (numbers, lists as 1,2, booleans as on/off)
    keys = path.strip().split('.')
    out = node = {}
    for i, k in enumerate(keys[:-1]):
        node[k] = {} if not keys[i + 1].isdigit() else node.get(k, {})
        node = node[k]
    node[keys[-1]] = value
    return out


def _apply_set(data, patch, where):
    """``patch`` from :func:`parse_set` merged in; ``phases.N`` edits phase N of the resolved list."""
    for k, v in patch.items():
        if k == 'phases' and isinstance(v, dict) and all(i.isdigit() for i in v):
            phases = data.get('phases')
            if phases is None:
                raise SettingError('%s: phases.N needs the stage\'s phases, which its train section does not list '
                                   '(set phases as a whole list)' % where)
            for i, p in v.items():
                n = int(i)
                if not 1 <= n <= len(phases):
                    raise SettingError('%s: phases.%d: the stage has %d phase(s)' % (where, n, len(phases)))
                phases[n - 1] = merge(phases[n - 1], p)
        elif isinstance(v, dict) and isinstance(data.get(k), dict):
            _apply_set(data[k], v, where)
        else:
            data[k] = v


def load_raw(path=None, sets=(), demo=False):
    """[(source, settings)] of a recipe: its files (original.json first; with ``demo``, demo.json before
    ``path``) and the ``--set`` values, before they are merged."""
    sources = []
    for p in ([DEMO_RECIPE] if demo else []) + ([path] if path else []):
        for f, data in _chain(p):
            if f not in [s for s, _ in sources]:
                sources.append((f, data))
    if not sources:
        sources = _chain(ORIGINAL_RECIPE)
    return sources + [('--set %s' % s, s) for s in sets]


def load_recipe(path=None, sets=(), demo=False):
    """The resolved :class:`PipelineRecipe` of a recipe file (default: the original's) and ``--set`` values."""
    merged = {}
    for source, data in load_raw(path, sets, demo):
        if isinstance(data, str):  # a --set value
            patch = parse_set(data)
            _check_keys(patch, source, partial=True)
            _apply_set(merged, _resolve_phase_paths(merged, patch), source)
        else:
            _check_keys(data, source)
            merged = merge(merged, data)
    return resolve(merged, path or ORIGINAL_RECIPE)


def _resolve_phase_paths(merged, patch):
    """``--set s.train.phases.N...`` needs the stage's phases: taken from its base recipe when no file lists them."""
    for k, v in patch.items():
        train = v.get('train') if isinstance(v, dict) else None
        if k in STAGE_BASES and isinstance(train, dict) and isinstance(train.get('phases'), dict):
            section = merged.setdefault(k, {}).setdefault('train', {})
            if 'phases' not in section:
                section['phases'] = [to_dict(p) for p in T.load(STAGE_BASES[k]).phases]
    return patch


_SECTIONS = {'data': DataSettings, 'detector': CascadeSettings, 'p': StagePlan, 'ph': StagePlan, 'r': StagePlan,
             'o': StagePlan, 'extra': ExtraFaces}


def _check_keys(data, source, partial=False):
    """Each key of one file (or one --set) checked where it stands, so an error names its source."""
    if not isinstance(data, dict):
        raise SettingError('%s: a pipeline recipe is a JSON object of settings' % source)
    top = {f.name: f for f in dataclasses.fields(PipelineRecipe)}
    for k, v in data.items():
        if k.startswith('_'):
            continue
        if k not in top:
            raise unknown(PipelineRecipe, k, source)
        if k in _SECTIONS:
            _check_section(k, v, source, partial)
        else:
            coerce(top[k], v, source)


def _check_section(k, v, source, partial):
    cls, where = _SECTIONS[k], '%s: %s' % (source, k)
    if not isinstance(v, dict):
        raise SettingError('%s: expected an object of settings' % where)
    by_name = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in v.items():
        if key.startswith('_'):
            continue
        if key not in by_name or (k in APPLIES and key not in APPLIES[k] + ('train',)):
            if key in by_name:
                raise SettingError('%s: %s does not apply to stage %s (it applies to %s)' % (
                    where, key, k, ', '.join(s for s, keys in APPLIES.items() if key in keys)))
            raise unknown(cls, key, where)
        if key == 'train':
            _check_train(value, '%s.train' % where, partial)
        else:
            coerce(by_name[key], value, where)


def _check_train(value, where, partial):
    if not isinstance(value, dict):
        raise SettingError('%s: expected a training recipe object' % where)
    for key in value:
        if key in SET_BY_PIPELINE:
            raise SettingError('%s: %s is set by the pipeline (%s)' % (
                where, key, 'the top-level seed' if key == 'seed' else 'each stage\'s list, prefix and entry point'))
    if partial:
        by_stage = {f.name: f for f in dataclasses.fields(T.StageRecipe)}
        for key, v in value.items():
            if key == 'phases' and isinstance(v, dict):
                for n, ph in v.items():
                    if isinstance(ph, dict):
                        T.build(T.Phase, ph, '%s.phases.%s' % (where, n))
            elif key in by_stage:
                T.build_stage({key: v}, where)
            elif not key.startswith('_'):
                raise unknown(T.StageRecipe, key, where)
    else:
        T.build_stage(value, where)


def _stage_recipe(k, section, seed, where):
    """Stage ``k``'s training recipe: its base recipe with the section's ``train`` settings and the seed."""
    base = T.to_dict(T.load(STAGE_BASES[k]))
    train = dict(section.get('train') or {})
    if 'phases' in train:
        base['phases'] = train.pop('phases')  # a phases list replaces the base's, each phase from the defaults
    return T.build_stage(dict(base, **train, seed=seed), '%s: %s.train' % (where, k))


def resolve(merged, where):
    """The :class:`PipelineRecipe` of merged settings, every value checked once more as a whole."""
    out = {k: v for k, v in merged.items() if k not in _SECTIONS}
    top = build(PipelineRecipe, out, where)
    sections = {}
    for k, cls in _SECTIONS.items():
        section = dict(merged.get(k) or {})
        if k in STAGE_BASES:
            recipe = _stage_recipe(k, section, top.seed, where)
            section.pop('train', None)
            sections[k] = dataclasses.replace(build(cls, section, '%s: %s' % (where, k)), train=recipe)
        else:
            sections[k] = build(cls, section, '%s: %s' % (where, k))
    recipe = dataclasses.replace(top, **sections)
    for k, n in MINING_NETS.items():
        plan = recipe.stage(k)
        if plan.hard_teacher_share and not plan.train.teacher:
            raise SettingError('%s: %s.hard_teacher_share ranks mined negatives by the stage\'s teacher: set %s.train.'
                               'teacher too (e.g. "caffe")' % (where, k, k))
        thresh = plan.mine_thresh
        if thresh is None or len(thresh) != n:
            raise SettingError('%s: %s.mine_thresh: %s given, it takes %d, one per net that mines it (%s)' % (
                where, k, 'none' if thresh is None else len(thresh), n, 'P' if n == 1 else 'P and R'))
    return recipe


def show(recipe):
    """The resolved recipe as JSON-ready settings (every stage's whole training recipe)."""
    return to_dict(recipe)


# --- stages -----------------------------------------------------------------------------------------------

def last_epoch(plan):
    return plan.train.phases[-1].end_epoch


def cascade(recipe, run):
    """(prefixes, epochs, networks) of the cascade the recipe ends with."""
    j = lambda *p: os.path.join(run, 'model', *p)  # noqa: E731
    onet = ('onet_extra', recipe.extra) if recipe.extra.list else ('onet', recipe.o)
    return ([j('pnet20_hard'), j('rnet'), j(onet[0])],
            [recipe.ph.use_epoch or last_epoch(recipe.ph), recipe.r.use_epoch or last_epoch(recipe.r),
             last_epoch(onet[1])],
            [recipe.ph.train.network, recipe.r.train.network, onet[1].train.network])


def detector_flags(settings, thresh=None):
    """The cascade flags of a tool that runs a detector with ``settings`` (or other thresholds)."""
    return ['--thresh', flag_text(tuple(thresh or settings.thresh)), '--min_face', flag_text(settings.min_face),
            '--factor', flag_text(settings.factor), '--onet_flip', 'on' if settings.onet_flip else 'off',
            '--onet_passes', str(settings.onet_passes)]


class _Builder:
    """The stages of one recipe in one run folder."""

    def __init__(self, recipe, run, wider_root):
        self.r, self.run, self.wider = recipe, run, wider_root
        self.py, self.w, self.seed = sys.executable, str(recipe.workers), str(recipe.seed)
        self.anno, self.samples = self.j('anno.txt'), self.j('samples')
        d = recipe.data
        self.lim = ['--limit', str(d.limit_images)] if d.limit_images else []

    def j(self, *p):
        return os.path.join(self.run, *p)

    def anno_stage(self):
        d = self.r.data
        return Stage('anno', [self.py, 'prepare_data/gen_anno_and_train_list.py', '--wider_root', self.wider,
                              '--anno', self.anno, '--list', self.j('train.txt'), '--dev_fraction',
                              flag_text(d.dev_fraction), '--dev_seed', str(d.dev_seed), '--dev_anno',
                              self.j('anno_dev.txt'), '--train_fraction', flag_text(d.train_fraction)], [self.anno])

    def data(self, stage, size, base_num, src=None, dst=None):
        """gen_data on the run's WIDER faces, or (``src``, ``dst``) on extra faces: no prob filter, no limit."""
        d, wider = self.r.data, src is None
        src, dst = src or self.anno, dst or self.samples
        prob = (['--prob_thresh', flag_text(d.prob_thresh)] + (['--prob_file', d.prob_file] if d.prob_file else [])
                if wider else [])
        return Stage(stage, [self.py, 'prepare_data/gen_data.py', '--size', str(size), '--base_num', str(base_num)]
                     + prob + ['--min_face', str(d.min_face), '--anno', src, '--out', dst, '--workers', self.w,
                               '--seed', self.seed] + (self.lim if wider else []),
                     [os.path.join(dst, str(size), 'manifest.json')])

    def mine(self, stage, mode, size, prefixes, epochs, thresh):
        return Stage(stage, [self.py, 'prepare_data/gen_hard_example.py', '--test_mode', mode, '--prefix',
                             ','.join(prefixes), '--epoch', ','.join(map(str, epochs)), '--thresh', flag_text(thresh),
                             '--min_face', flag_text(self.r.detector.min_face), '--anno', self.anno, '--out',
                             self.samples, '--workers', self.w, '--backend', 'onnx'] + self.lim,
                     [self.j('samples', str(size), 'manifest_hard.json')])

    def imglist(self, stage, size, name, base_num, hard, extra=None, plan=None):
        """A list stage; ``plan``: the stage plan whose hard_teacher_share ranks the mined negatives."""
        ratio = ['--keep_ratio'] if hard and self.r.data.keep_ratio else []
        if plan is not None and plan.hard_teacher_share:
            ratio += ['--hard_teacher', plan.train.teacher, '--hard_teacher_share', flag_text(plan.hard_teacher_share)]
        return Stage(stage, [self.py, 'prepare_data/gen_imglist.py', '--size', str(size), '--base_num', str(base_num)]
                     + (['--with_hard'] + ratio if hard else []) + ['--samples', self.samples]
                     + (['--extra', extra] if extra else []) + ['--out', self.j('lists', name), '--seed', self.seed],
                     [self.j('lists', name)])

    def train(self, stage, k, lst, prefix, start=None):
        """The commands of a training stage: one per phase, each reading the stage's resolved recipe file;
        ``start``: (prefix, epoch) the first phase starts from."""
        recipe = dataclasses.replace(self.r.stage(k).train, image_set=lst, prefix=prefix)
        text = json.dumps(T.to_dict(recipe), indent=1, sort_keys=True) + '\n'
        path = self.j('recipes', stage + '.json')
        out = []
        for n, ph in enumerate(recipe.phases, 1):
            argv = [self.py, recipe.script, '--recipe', path] + (['--phase', str(n)] if n > 1 else [])
            if n == 1 and start:
                argv += ['--pretrained', start[0], '--epoch', str(start[1])]
            if n > 1:  # where the phase before ended, as the original's second .bat command
                argv += ['--begin_epoch', str(recipe.phases[n - 2].end_epoch)]
            out.append(Stage(stage + ('_%d' % n if n > 1 else ''), argv + ['--workers', self.w],
                             ['%s-%04d.params' % (prefix, ph.end_epoch)], (prefix, ph.end_epoch), text,
                             writes={path: text}))
        return out


def stages(run, recipe, wider_root, demo=False, photo=None):
    """The pipeline of ``recipe`` as a list of :class:`core.common.stage_runner.Stage` (paths inside ``run``).
    ``demo``: the embedded demo set, evaluated on its val split; ``photo``: an image the trained cascade
    draws its boxes on at the end."""
    b, r, j = _Builder(recipe, run, wider_root), recipe, lambda *p: os.path.join(run, *p)
    (ph_prefix, r_prefix, o_prefix), (ph_ep, r_ep, o_ep), _ = cascade(recipe, run)
    pnet = (j('model', 'pnet20'), last_epoch(r.p))
    out = [b.anno_stage(), b.data('p_data', 20, r.p.base_num), b.imglist('p_list', 20, 'p.txt', r.p.base_num, False)]
    out += b.train('p_train', 'p', j('lists', 'p.txt'), pnet[0])
    out += [b.mine('p_hard', 'hardpnet20', 20, [pnet[0]], [pnet[1]], r.ph.mine_thresh),
            b.imglist('p_list_hard', 20, 'p_hard.txt', r.p.base_num, True, plan=r.ph)]
    out += b.train('p_train_hard', 'ph', j('lists', 'p_hard.txt'), ph_prefix, pnet if r.ph.from_p else None)
    out += [b.data('r_data', 24, r.r.base_num), b.mine('r_hard', 'rnet', 24, [ph_prefix], [ph_ep], r.r.mine_thresh),
            b.imglist('r_list', 24, 'r.txt', r.r.base_num, True, plan=r.r)]
    out += b.train('r_train', 'r', j('lists', 'r.txt'), r_prefix)
    out += [b.data('o_data', 48, r.o.base_num),
            b.mine('o_hard', 'onet', 48, [ph_prefix, r_prefix], [ph_ep, r_ep], r.o.mine_thresh),
            b.imglist('o_list', 48, 'o.txt', r.o.base_num, True, plan=r.o)]
    onet = (j('model', 'onet'), last_epoch(r.o))
    out += b.train('o_train', 'o', j('lists', 'o.txt'), onet[0])
    if r.extra.list:
        out += _extra_stages(b, r, (ph_prefix, r_prefix, onet[0]), (ph_ep, r_ep, onet[1]), o_prefix)
    out += _eval_stages(b, r, wider_root, (ph_prefix, r_prefix, o_prefix), (ph_ep, r_ep, o_ep), demo, photo)
    return out


def _extra_stages(b, r, prefixes, epochs, o_prefix):
    x = lambda *p: b.j('extra', *p)  # noqa: E731
    boxing = dataclasses.replace(r.detector, onet_flip=True, onet_passes=2)
    return [Stage('x_clean', [b.py, 'tools/inspect_landmarks.py', '--list', r.extra.list, '--out', x('check'),
                              '--drop_outliers', x('clean.txt')], [x('clean.txt')]),
            Stage('x_boxes', [b.py, 'prepare_data/landmark_boxes.py', '--list', x('clean.txt'), '--out',
                              x('boxes.txt'), '--anno_out', x('anno.txt'), '--prefix', ','.join(prefixes), '--epoch',
                              ','.join(map(str, epochs))] + detector_flags(boxing, r.extra.box_thresh),
                  [x('anno.txt')]),
            b.data('x_data', 48, r.extra.base_num, x('anno.txt'), x('samples')),
            b.imglist('x_list', 48, 'o_extra.txt', r.o.base_num, True, x('samples'))] + \
        b.train('x_train', 'extra', b.j('lists', 'o_extra.txt'), o_prefix, (prefixes[2], epochs[2]))


def _eval_stages(b, r, wider_root, prefixes, epochs, demo, photo):
    out = []
    if demo:
        out.append(Stage('anno_val', [b.py, 'prepare_data/gen_anno_and_train_list.py', '--wider_root', wider_root,
                                      '--split', 'val', '--anno', b.j('anno_val.txt'), '--list', b.j('val.txt')],
                         [b.j('anno_val.txt')]))
        where = ['--gt_anno', b.j('anno_val.txt'), '--label', 'demo']
    elif r.data.dev_fraction:
        where = ['--gt_anno', b.j('anno_dev.txt')]
    else:
        where = ['--gt_dir', os.path.join(wider_root, 'eval_tools', 'ground_truth'),
                 '--image_root', os.path.join(wider_root, 'WIDER_val', 'images')]
    flags = ['--prefix', ','.join(prefixes), '--epoch', ','.join(map(str, epochs))] + detector_flags(r.detector) + \
        ['--backend', 'onnx', '--lnet', 'none']
    out.append(Stage('eval', [b.py, 'tools/eval_wider.py'] + flags + ['--out', b.j('eval'), '--title',
                                                                      os.path.basename(b.run)] + where,
                     [b.j('eval', 'pr_curve.png')]))
    if photo:
        out.append(Stage('photo', [b.py, 'demo.py'] + flags + ['--imgfile', photo, '--out', b.j('demo_photo.jpg')],
                         [b.j('demo_photo.jpg')]))
    return out
