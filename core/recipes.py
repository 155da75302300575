"""Pipeline recipes: flat settings with the original's values as defaults, and the stages they make.

A recipe is a JSON object of settings (``RECIPE_KEYS``; a key it leaves out keeps the original's value,
``--set key=value`` overrides). :func:`stages` turns one into the command lines of the original's .bat
sequence (:class:`core.pipeline.Stage`), each a command of this toolkit run from the repository root;
:func:`cascade` names the models the recipe ends with.
"""
import os
import sys

from config import REPO_ROOT, config

from .fileio import load_json
from .pipeline import Stage

RECIPES = os.path.join(REPO_ROOT, 'scripts', 'recipes')
DEFAULT_RECIPE = os.path.join(RECIPES, 'default.json')
TRAIN = {'p': 'P20', 'ph': 'P20_hard', 'r': 'R', 'o': 'O'}  # stage-table entries of the training stages


def _phase_keys():
    """The original's training phases (config.STAGES) as flat recipe keys: ``p_lr``, ``r2_batch``…"""
    out = {}
    for k, recipe in TRAIN.items():
        phases = config.STAGES[recipe].phases
        for n, ph in enumerate(phases + [None] * (2 - len(phases))):
            pre = k if n == 0 else k + '2'
            out.update({pre + '_epochs': ph['end_epoch'] if ph else 0, pre + '_lr': ph['lr'] if ph else 0.0,
                        pre + '_lr_epoch': ph['lr_epoch'] if ph else '', pre + '_batch': ph['batch_size'] if ph else 0,
                        pre + '_frequent': ph['frequent'] if ph else 100})
    return out


# Every recipe key with the original's value (a key a recipe leaves out is as the original).
RECIPE_KEYS = dict(
    pnet=config.STAGES.P20.network, rnet=config.STAGES.R.network, onet=config.STAGES.O.network,
    seed=0, workers=2, limit_images=0,
    dev_fraction=0.0, dev_seed=0, train_fraction=1.0,   # dev split (eval runs on it) and learning curves
    prob_file='', prob_thresh=0.15,                      # the original's prob.txt face filter
    sample_min_face=40,                                  # faces smaller give no positives/parts
    p_base_num=1, r_base_num=1, o_base_num=1,
    keep_ratio=False,                                    # lists with mined negatives keep 1:1:2:1 when short
    ohem=True, p_flip=True, r_flip=True, o_flip=True,
    p_mine_thresh='0.5', r_mine_thresh='0.5', o_mine_thresh='0.6,0.5',
    ph_from_p=False,       # P-with-hard fine-tuned from the first Pnet (the original trains it from scratch)
    ph_use_epoch=16, r_use_epoch=16,  # checkpoints the later stages use (the .bat files: epoch 16; 0 = last)
    prelu_init=1.0, min_face=20, eval_thresh='0.5,0.5,0.7',
    **_phase_keys())


def load_recipe(path=None, sets=(), demo=False):
    """Recipe settings: the original's values, then the recipe file, then ``--set`` overrides."""
    cfg = dict(RECIPE_KEYS)
    for source in ([os.path.join(RECIPES, 'demo.json')] if demo else []) + ([path] if path else []):
        data = load_json(source, 'recipe')
        if not isinstance(data, dict):
            raise ValueError('%s: a recipe is a JSON object of settings' % source)
        _merge(cfg, {k: v for k, v in data.items() if not k.startswith('_')}, source)
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


def _train(cfg, k, script, net, lst, prefix, phase, w, seed):
    pre = k if phase == 1 else k + '2'
    argv = [sys.executable, script, '--network', cfg[net], '--image_set', lst, '--prefix', prefix,
            '--lr', repr(cfg[pre + '_lr']), '--lr_epoch', cfg[pre + '_lr_epoch'], '--end_epoch', str(cfg[pre + '_epochs']),
            '--batch_size', str(cfg[pre + '_batch']), '--frequent', str(cfg[pre + '_frequent']),
            '--workers', w, '--seed', seed, '--prelu_init', repr(cfg['prelu_init'])]
    if phase == 2:
        start = str(cfg[k + '_epochs'])
        argv += ['--pretrained', prefix, '--epoch', start, '--begin_epoch', start, '--resume']
    if not cfg['ohem']:
        argv.append('--no_ohem')
    if not cfg[k[0] + '_flip']:
        argv.append('--no_flip')
    return argv


def _last(cfg, k):
    return cfg[k + '2_epochs'] or cfg[k + '_epochs']


def cascade(cfg, run):
    """(prefixes, epochs, networks) of the cascade the recipe ends with."""
    j = lambda *p: os.path.join(run, 'model', *p)  # noqa: E731
    return ([j('pnet20_hard'), j('rnet'), j('onet')],
            [cfg['ph_use_epoch'] or _last(cfg, 'ph'), cfg['r_use_epoch'] or _last(cfg, 'r'), _last(cfg, 'o')],
            [cfg['pnet'], cfg['rnet'], cfg['onet']])


def stages(run, cfg, wider_root, demo=False, photo=None):
    """The pipeline of ``cfg`` as a list of :class:`core.pipeline.Stage` (paths inside ``run``). ``demo``:
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

    def data(stage, size, base):
        return Stage(stage, [py, 'prepare_data/gen_data.py', '--size', str(size), '--base_num', str(cfg[base]),
                             '--prob_thresh', repr(cfg['prob_thresh'])] + prob +
                     ['--min_face', str(cfg['sample_min_face']), '--anno', anno, '--out', samples, '--workers', w,
                      '--seed', seed] + lim, [j('samples', str(size), 'manifest.json')])

    def mine(stage, mode, size, prefixes, epochs, thresh):
        return Stage(stage, [py, 'prepare_data/gen_hard_example.py', '--test_mode', mode, '--prefix',
                             ','.join(prefixes), '--epoch', ','.join(map(str, epochs)), '--thresh', thresh,
                             '--min_face', str(cfg['min_face']), '--anno', anno, '--out', samples, '--workers', w,
                             '--backend', 'onnx'] + lim, [j('samples', str(size), 'manifest_hard.json')])

    def imglist(stage, size, name, base, hard):
        return Stage(stage, [py, 'prepare_data/gen_imglist.py', '--size', str(size), '--base_num', str(cfg[base])] +
                     (['--with_hard'] + ratio if hard else []) +
                     ['--samples', samples, '--out', j('lists', name), '--seed', seed], [j('lists', name)])

    def train(stage, k, script, net, lst, prefix):
        first = _train(cfg, k, script, net, lst, prefix, 1, w, seed)
        if k == 'ph' and cfg['ph_from_p']:
            first += ['--pretrained', j('model', 'pnet20'), '--epoch', str(cfg['p_epochs'])]
        res = [Stage(stage, first, ['%s-%04d.params' % (prefix, cfg[k + '_epochs'])], (prefix, cfg[k + '_epochs']))]
        if cfg[k + '2_epochs']:
            res.append(Stage(stage + '_2', _train(cfg, k, script, net, lst, prefix, 2, w, seed),
                             ['%s-%04d.params' % (prefix, cfg[k + '2_epochs'])], (prefix, cfg[k + '2_epochs'])))
        return res

    out += [data('p_data', 20, 'p_base_num'), imglist('p_list', 20, 'p.txt', 'p_base_num', False)]
    out += train('p_train', 'p', 'train_P20.py', 'pnet', j('lists', 'p.txt'), j('model', 'pnet20'))
    out += [mine('p_hard', 'hardpnet20', 20, [j('model', 'pnet20')], [cfg['p_epochs']], cfg['p_mine_thresh']),
            imglist('p_list_hard', 20, 'p_hard.txt', 'p_base_num', True)]
    out += train('p_train_hard', 'ph', 'train_P20.py', 'pnet', j('lists', 'p_hard.txt'), ph_prefix)
    out += [data('r_data', 24, 'r_base_num'),
            mine('r_hard', 'rnet', 24, [ph_prefix], [ph_ep], cfg['r_mine_thresh']),
            imglist('r_list', 24, 'r.txt', 'r_base_num', True)]
    out += train('r_train', 'r', 'train_R.py', 'rnet', j('lists', 'r.txt'), r_prefix)
    out += [data('o_data', 48, 'o_base_num'),
            mine('o_hard', 'onet', 48, [ph_prefix, r_prefix], [ph_ep, r_ep], cfg['o_mine_thresh']),
            imglist('o_list', 48, 'o.txt', 'o_base_num', True)]
    out += train('o_train', 'o', 'train_O.py', 'onet', j('lists', 'o.txt'), o_prefix)
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
