"""Pipeline recipes: flat settings with the original's values as defaults, and the stages they make.

A recipe is a JSON object of settings (``RECIPE_KEYS``; a key it leaves out keeps the original's value,
``--set key=value`` overrides). :func:`stages` turns one into the command lines of the original's .bat
sequence (:class:`core.common.stage_runner.Stage`), each a command of this toolkit run from the repository root;
:func:`cascade` names the models the recipe ends with.
"""
import dataclasses
import json
import os
import sys

from config import REPO_ROOT

from core.common.stage_runner import Stage
from .training_recipe import (Phase, RunOptions, StageRecipe, coerce, flag_text, inherited, load as training_recipe, to_argv,
                     to_dict)

RECIPES = os.path.join(REPO_ROOT, 'scripts', 'recipes')
DEFAULT_RECIPE = os.path.join(RECIPES, 'default.json')
# The training stages: their key prefix in a pipeline recipe -> the training recipe (scripts/recipes/train)
# they start from and the pipeline key naming their network.
TRAIN = {'p': ('P20', 'pnet'), 'ph': ('P20_hard', 'pnet'), 'r': ('R', 'rnet'), 'o': ('O', 'onet'),
         'ox': ('O', 'onet')}  # ox: the Onet fine-tuned with the extra faces of ``o_extra_list``
# A pipeline recipe's phase keys (``p_lr``, ``r2_batch``: phase 1 / 2 of a training stage) and the
# :class:`core.recipes.training_recipe.Phase` field each one sets; ``<k>_epochs`` 0 for phase 2 drops that phase.
PHASE_KEYS = {'epochs': 'end_epoch', 'lr': 'lr', 'lr_epoch': 'lr_epoch', 'batch': 'batch_size', 'frequent': 'frequent'}
# Recipe-level keys of a pipeline recipe that set a field of every training stage; ``<k>_<key>``, where
# the recipe has one (``r_flip``, ``ox_ohem``), sets it for stage ``k`` alone.
STAGE_KEYS = {'seed': 'seed', 'prelu_init': 'prelu_init', 'ohem': 'ohem', 'flip': 'flip'}


def _phase_keys():
    """The original's training phases (scripts/recipes/train) as flat recipe keys: ``p_lr``, ``r2_batch``…"""
    out = {}
    absent = {'epochs': 0, 'lr': 0.0, 'lr_epoch': '', 'batch': 0, 'frequent': Phase.frequent}  # no such phase
    for k, (name, _) in TRAIN.items():
        phases = training_recipe(name).phases
        for n, pre in enumerate((k, k + '2')):
            for key, field in PHASE_KEYS.items():
                v = getattr(phases[n], field) if n < len(phases) else absent[key]
                out[pre + '_' + key] = flag_text(v) if isinstance(v, tuple) else v
    return out


# Every recipe key with the original's value (a key a recipe leaves out is as the original).
RECIPE_KEYS = dict(
    pnet=training_recipe('P20').network, rnet=training_recipe('R').network, onet=training_recipe('O').network,
    seed=StageRecipe.seed, workers=RunOptions.workers, limit_images=0,
    dev_fraction=0.0, dev_seed=0, train_fraction=1.0,   # dev split (eval runs on it) and learning curves
    prob_file='', prob_thresh=0.15,                      # the original's prob.txt face filter
    sample_min_face=40,                                  # faces smaller give no positives/parts
    p_base_num=1, r_base_num=1, o_base_num=1,
    keep_ratio=False,                                    # lists with mined negatives keep 1:1:2:1 when short
    ohem=StageRecipe.ohem, p_flip=StageRecipe.flip, ph_flip=StageRecipe.flip, r_flip=StageRecipe.flip,
    o_flip=StageRecipe.flip,
    # Extra Onet faces (not in the original): a 5-point landmark list (cuhk format) whose faces, checked
    # (tools/inspect_landmarks.py) and boxed by the run's own cascade at o_extra_thresh (Onet mirrored +
    # second pass), give o_extra_base_num x more positives and parts at 48 px (their small images give
    # no negatives); the Onet is then fine-tuned (the ox_* phase keys, from its last epoch) on the Onet
    # list plus them. '' = none.
    o_extra_list='', o_extra_base_num=1, o_extra_thresh='0.2,0.3,0.1', ox_flip=StageRecipe.flip,
    ox_ohem=StageRecipe.ohem,
    p_mine_thresh='0.5', r_mine_thresh='0.5', o_mine_thresh='0.6,0.5',
    ph_from_p=False,       # P-with-hard fine-tuned from the first Pnet (the original trains it from scratch)
    ph_use_epoch=16, r_use_epoch=16,  # checkpoints the later stages use (the .bat files: epoch 16; 0 = last)
    prelu_init=StageRecipe.prelu_init, min_face=20, eval_thresh='0.5,0.5,0.7',
    **_phase_keys())


def load_recipe(path=None, sets=(), demo=False):
    """Recipe settings: the original's values, then the recipe file (after the files its ``_base_``
    chain names, each relative to the file that names it), then ``--set`` overrides."""
    cfg = dict(RECIPE_KEYS)
    for source in ([os.path.join(RECIPES, 'demo.json')] if demo else []) + ([path] if path else []):
        for file, data in inherited(source, 'recipe'):
            _merge(cfg, {k: v for k, v in data.items() if not k.startswith('_')}, file)
    for kv in sets:
        k, sep, v = kv.partition('=')
        if not sep:
            raise ValueError('--set takes key=value, got %r' % kv)
        _merge(cfg, {k: v}, '--set', text=True)
    return cfg


def _merge(cfg, new, source, text=False):
    for k, v in new.items():
        if k not in cfg:
            import difflib
            close = difflib.get_close_matches(k, list(cfg), n=3)
            raise ValueError('%s: unknown setting %r%s' % (source, k, ' (did you mean %s?)' % ', '.join(close)
                                                           if close else ''))
        want = type(RECIPE_KEYS[k])
        try:
            if want is bool:
                v = v if isinstance(v, bool) else str(v).lower() in ('1', 'true', 'yes', 'on')
            elif want in (int, float):
                if isinstance(v, bool) or (want is int and float(v) != int(float(v))):
                    raise ValueError
                v = want(float(v)) if want is int else float(v)
            else:
                v = str(v)
        except ValueError:
            raise ValueError('%s: setting %s=%r is not a%s %s' % (source, k, v, 'n' if want is int else '', want.__name__))
        cfg[k] = v


def stage_recipe(cfg, k, image_set, prefix):
    """The :class:`core.recipes.training_recipe.StageRecipe` of training stage ``k`` (``p``, ``ph``, ``r``, ``o``): its
    training recipe with the pipeline recipe's network, phases and switches."""
    name, net = TRAIN[k]
    base = training_recipe(name)
    phases = []
    for pre in (k, k + '2'):
        if cfg[pre + '_epochs']:
            old = base.phases[len(phases)] if len(phases) < len(base.phases) else Phase()
            phases.append(dataclasses.replace(old, **{f: _typed(f, cfg[pre + '_' + key])
                                                      for key, f in PHASE_KEYS.items()}))
    switches = {field: cfg[k + '_' + key] if k + '_' + key in cfg else cfg[key] for key, field in STAGE_KEYS.items()}
    return dataclasses.replace(base, network=cfg[net], image_set=image_set, prefix=prefix, phases=tuple(phases),
                               **switches)


def _typed(field, value):
    return coerce(next(f for f in dataclasses.fields(Phase) if f.name == field), value, 'recipe')


# the flags every training command states, as the .bat commands do (the rest only where they differ)
_ALWAYS = ('network', 'image_set', 'prefix', 'seed', 'prelu_init', 'lr', 'lr_epoch', 'end_epoch', 'batch_size',
           'frequent')


def _train(recipe, k, phase, w):
    """The command line of phase ``phase`` of a training stage: its entry point, its training recipe and
    phase, and the flags that make it ``recipe``. A later phase states where it starts, as the
    original's second .bat command does."""
    name, _ = TRAIN[k]
    argv = [sys.executable, recipe.script, '--recipe', name] + (['--phase', str(phase)] if phase > 1 else []) + \
        to_argv(recipe, phase, training_recipe(name), _ALWAYS) + ['--workers', w]
    if phase > 1:
        start = str(recipe.phases[phase - 2].end_epoch)
        argv += ['--pretrained', recipe.prefix, '--epoch', start, '--begin_epoch', start, '--resume']
    return argv


def _last(cfg, k):
    return cfg[k + '2_epochs'] or cfg[k + '_epochs']


def cascade(cfg, run):
    """(prefixes, epochs, networks) of the cascade the recipe ends with."""
    j = lambda *p: os.path.join(run, 'model', *p)  # noqa: E731
    last = ('onet_extra', 'ox') if cfg['o_extra_list'] else ('onet', 'o')
    return ([j('pnet20_hard'), j('rnet'), j(last[0])],
            [cfg['ph_use_epoch'] or _last(cfg, 'ph'), cfg['r_use_epoch'] or _last(cfg, 'r'), _last(cfg, last[1])],
            [cfg['pnet'], cfg['rnet'], cfg['onet']])


def stages(run, cfg, wider_root, demo=False, photo=None):
    """The pipeline of ``cfg`` as a list of :class:`core.common.stage_runner.Stage` (paths inside ``run``). ``demo``:
    the embedded demo set, evaluated on its val split (``demo_ap``); ``photo``: an image the trained
    cascade draws its boxes on at the end."""
    py, w, seed = sys.executable, str(cfg['workers']), str(cfg['seed'])
    j = lambda *p: os.path.join(run, *p)  # noqa: E731
    anno, samples = j('anno.txt'), j('samples')
    lim = ['--limit', str(cfg['limit_images'])] if cfg['limit_images'] else []
    prob = ['--prob_file', cfg['prob_file']] if cfg['prob_file'] else []
    ratio = ['--keep_ratio'] if cfg['keep_ratio'] else []
    (ph_prefix, r_prefix, o_prefix), (ph_ep, r_ep, o_ep), _ = cascade(cfg, run)
    out = [Stage('anno', [py, 'prepare_data/gen_anno_and_train_list.py', '--wider_root', wider_root, '--anno', anno,
                          '--list', j('train.txt'), '--dev_fraction', repr(cfg['dev_fraction']), '--dev_seed',
                          str(cfg['dev_seed']), '--dev_anno', j('anno_dev.txt'), '--train_fraction',
                          repr(cfg['train_fraction'])], [anno])]

    def data(stage, size, base, src=None, dst=None):
        """gen_data on the run's WIDER faces, or (``src``, ``dst``) on extra faces: no prob filter, no limit."""
        wider = src is None
        src, dst = src or anno, dst or samples
        return Stage(stage, [py, 'prepare_data/gen_data.py', '--size', str(size), '--base_num', str(cfg[base])] +
                     (['--prob_thresh', repr(cfg['prob_thresh'])] + prob if wider else []) +
                     ['--min_face', str(cfg['sample_min_face']), '--anno', src, '--out', dst, '--workers', w,
                      '--seed', seed] + (lim if wider else []), [os.path.join(dst, str(size), 'manifest.json')])

    def mine(stage, mode, size, prefixes, epochs, thresh):
        return Stage(stage, [py, 'prepare_data/gen_hard_example.py', '--test_mode', mode, '--prefix',
                             ','.join(prefixes), '--epoch', ','.join(map(str, epochs)), '--thresh', thresh,
                             '--min_face', str(cfg['min_face']), '--anno', anno, '--out', samples, '--workers', w,
                             '--backend', 'onnx'] + lim, [j('samples', str(size), 'manifest_hard.json')])

    def imglist(stage, size, name, base, hard, extra=None):
        return Stage(stage, [py, 'prepare_data/gen_imglist.py', '--size', str(size), '--base_num', str(cfg[base])] +
                     (['--with_hard'] + ratio if hard else []) + ['--samples', samples] +
                     (['--extra', extra] if extra else []) + ['--out', j('lists', name), '--seed', seed],
                     [j('lists', name)])

    def train(stage, k, lst, prefix):
        recipe = stage_recipe(cfg, k, lst, prefix)
        first = _train(recipe, k, 1, w)
        if k == 'ph' and cfg['ph_from_p']:
            first += ['--pretrained', j('model', 'pnet20'), '--epoch', str(cfg['p_epochs'])]
        if k == 'ox':  # fine-tuned from the Onet o_train ends with
            first += ['--pretrained', j('model', 'onet'), '--epoch', str(_last(cfg, 'o'))]
        res = []
        for n, ph in enumerate(recipe.phases, 1):
            res.append(Stage(stage + ('_%d' % n if n > 1 else ''), first if n == 1 else _train(recipe, k, n, w),
                             ['%s-%04d.params' % (prefix, ph.end_epoch)], (prefix, ph.end_epoch),
                             json.dumps(to_dict(recipe), sort_keys=True)))
        return res

    out += [data('p_data', 20, 'p_base_num'), imglist('p_list', 20, 'p.txt', 'p_base_num', False)]
    out += train('p_train', 'p', j('lists', 'p.txt'), j('model', 'pnet20'))
    out += [mine('p_hard', 'hardpnet20', 20, [j('model', 'pnet20')], [cfg['p_epochs']], cfg['p_mine_thresh']),
            imglist('p_list_hard', 20, 'p_hard.txt', 'p_base_num', True)]
    out += train('p_train_hard', 'ph', j('lists', 'p_hard.txt'), ph_prefix)
    out += [data('r_data', 24, 'r_base_num'),
            mine('r_hard', 'rnet', 24, [ph_prefix], [ph_ep], cfg['r_mine_thresh']),
            imglist('r_list', 24, 'r.txt', 'r_base_num', True)]
    out += train('r_train', 'r', j('lists', 'r.txt'), r_prefix)
    out += [data('o_data', 48, 'o_base_num'),
            mine('o_hard', 'onet', 48, [ph_prefix, r_prefix], [ph_ep, r_ep], cfg['o_mine_thresh']),
            imglist('o_list', 48, 'o.txt', 'o_base_num', True)]
    out += train('o_train', 'o', j('lists', 'o.txt'), j('model', 'onet'))
    if cfg['o_extra_list']:
        x = lambda *p: j('extra', *p)  # noqa: E731
        onet = (j('model', 'onet'), _last(cfg, 'o'))
        out += [Stage('x_clean', [py, 'tools/inspect_landmarks.py', '--list', cfg['o_extra_list'], '--out', x('check'),
                                  '--drop_outliers', x('clean.txt')], [x('clean.txt')]),
                Stage('x_boxes', [py, 'prepare_data/landmark_boxes.py', '--list', x('clean.txt'), '--out',
                                  x('boxes.txt'), '--anno_out', x('anno.txt'), '--prefix',
                                  ','.join((ph_prefix, r_prefix, onet[0])), '--epoch', '%d,%d,%d' % (ph_ep, r_ep, onet[1]),
                                  '--thresh', cfg['o_extra_thresh'], '--onet_flip', 'on', '--onet_passes', '2',
                                  '--min_face', str(cfg['min_face'])], [x('anno.txt')]),
                data('x_data', 48, 'o_extra_base_num', x('anno.txt'), x('samples')),
                imglist('x_list', 48, 'o_extra.txt', 'o_base_num', True, x('samples'))]
        out += train('x_train', 'ox', j('lists', 'o_extra.txt'), o_prefix)
    if demo:
        out.append(Stage('anno_val', [py, 'prepare_data/gen_anno_and_train_list.py', '--wider_root', wider_root,
                                      '--split', 'val', '--anno', j('anno_val.txt'), '--list', j('val.txt')],
                         [j('anno_val.txt')]))
        where = ['--gt_anno', j('anno_val.txt'), '--label', 'demo']
    elif cfg['dev_fraction']:
        where = ['--gt_anno', j('anno_dev.txt')]
    else:
        where = ['--gt_dir', os.path.join(wider_root, 'eval_tools', 'ground_truth'),
                 '--image_root', os.path.join(wider_root, 'WIDER_val', 'images')]
    cascade_flags = ['--prefix', ','.join((ph_prefix, r_prefix, o_prefix)), '--epoch', '%d,%d,%d' % (ph_ep, r_ep, o_ep),
                     '--thresh', cfg['eval_thresh'], '--min_face', str(cfg['min_face']), '--backend', 'onnx',
                     '--lnet', 'none']
    out.append(Stage('eval', [py, 'tools/eval_wider.py'] + cascade_flags + ['--out', j('eval'), '--title',
                                                                             os.path.basename(run)] + where,
                     [j('eval', 'pr_curve.png')]))
    if photo:
        out.append(Stage('photo', [py, 'demo.py'] + cascade_flags + ['--imgfile', photo,
                                                                      '--out', j('demo_photo.jpg')],
                         [j('demo_photo.jpg')]))
    return out
