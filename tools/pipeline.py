"""The whole cascade in one resumable command, as the original's .bat sequence:

    annotations → P samples → train P → P hard negatives → train P with hard negatives → R samples
    + mining with P → train R → O samples + mining with P+R → train O → evaluation

    python tools/pipeline.py --run runs/wider --wider_root data/WIDER        # this project's recipe
    python tools/pipeline.py --run runs/orig --wider_root data/WIDER --config scripts/recipes/original.json
    python tools/pipeline.py --run runs/demo --demo                           # embedded demo set
    python tools/pipeline.py --run runs/wider --wider_root data/WIDER --plan  # the commands, not run
    python tools/pipeline.py --run runs/wider --from r_train                  # redo from a stage

Recipes are flat JSON files of settings (see ``RECIPE_KEYS``; any key can be overridden with
``--set key=value``). ``scripts/recipes/original.json`` is every value of the original's .bat files:
networks, learning rates, batches, epochs, both phases of the two-phase trainings (P with hard
negatives from scratch, R and O), mining thresholds, the prob.txt face filter (with ``prob_file``).
``scripts/recipes/default.json`` (the default) is this project's recipe for small data sets: it
produced the committed default models; recipes were chosen on a dev split of the training images
(``dev_fraction``), on which the ``eval`` stage then runs. Stages and their keys: see
core/pipeline.py.
"""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import cli  # noqa: E402
from core.fileio import load_json  # noqa: E402
from core.pipeline import Stage, StageFailed, plan_lines, run_stages  # noqa: E402

RECIPES = os.path.join(REPO, 'scripts', 'recipes')
DEFAULT_RECIPE = os.path.join(RECIPES, 'default.json')
TRAIN = {'p': 'P20', 'ph': 'P20_hard', 'r': 'R', 'o': 'O'}  # stage-table entries of the training stages


def _phase_keys():
    """The original's training phases (config.STAGES) as flat recipe keys: ``p_lr``, ``r2_batch``…"""
    out = {}
    for k, recipe in TRAIN.items():
        phases = cli.config.STAGES[recipe].phases
        for n, ph in enumerate(phases + [None] * (2 - len(phases))):
            pre = k if n == 0 else k + '2'
            out.update({pre + '_epochs': ph['end_epoch'] if ph else 0, pre + '_lr': ph['lr'] if ph else 0.0,
                        pre + '_lr_epoch': ph['lr_epoch'] if ph else '', pre + '_batch': ph['batch_size'] if ph else 0,
                        pre + '_frequent': ph['frequent'] if ph else 100})
    return out


# Every recipe key with the original's value (a key a recipe leaves out is as the original).
RECIPE_KEYS = dict(
    pnet=cli.config.STAGES.P20.network, rnet=cli.config.STAGES.R.network, onet=cli.config.STAGES.O.network,
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


def stages(run, cfg, wider_root, demo=False):
    """The pipeline of ``cfg`` as a list of :class:`core.pipeline.Stage` (paths inside ``run``). ``demo``:
    the embedded demo set, evaluated on its val split (``demo_ap``), and a picture of the trained
    cascade on a real photo at the end."""
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
    if demo:
        from prepare_data.demo_set import PHOTO
        out.append(Stage('photo', [py, 'demo.py'] + cascade_flags + ['--imgfile', os.path.join(wider_root, PHOTO),
                                                                      '--out', j('demo_photo.jpg')],
                         [j('demo_photo.jpg')]))
    return out


def summary(run, manifest, log=print):
    import csv
    log('\n== summary: %s' % run)
    total = 0.0
    for name, e in manifest['stages'].items():
        total += e.get('seconds', 0)
        log('%-13s %6.0f s  %s' % (name, e.get('seconds', 0), e.get('summary', '')[:100]))
    for net in ('pnet20', 'pnet20_hard', 'rnet', 'onet'):
        path = os.path.join(run, 'model', net + '-metrics.csv')
        if os.path.exists(path):
            rows = [r for r in csv.DictReader(open(path)) if r['phase'] == 'val']
            if rows:
                log('%-13s last validation: %s' % (net, ' '.join('%s=%s' % (k, rows[-1][k][:6]) for k in rows[-1]
                                                                 if k not in ('phase', 'epoch') and rows[-1][k])))
    log('models: %s; PR curve: %s; total stage time %.0f s' % (os.path.join(run, 'model'),
                                                                os.path.join(run, 'eval', 'pr_curve.png'), total))
    photo = manifest['stages'].get('photo', {}).get('summary', '')
    if photo:
        log('the trained cascade on a real photo: %s' % photo)
    ev = manifest['stages'].get('eval', {}).get('summary', '')
    if ev.startswith('demo_ap='):  # the demo set has no difficulty split: one AP on its val images
        log(ev.split()[0])
    elif '=' in ev:
        log(ev)


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--run', default=os.path.join('runs', 'pipeline'), help='run folder (manifest, logs, models)')
    ap.add_argument('--wider_root', default=None, help='WIDER FACE root (WIDER_train, WIDER_val, wider_face_split, '
                    'eval_tools)')
    ap.add_argument('--demo', action='store_true', help='build and use the embedded demo set (scripts/recipes/demo.json)')
    ap.add_argument('--config', default=None, help='recipe JSON (default: %s; with --demo: demo.json only)'
                    % os.path.relpath(DEFAULT_RECIPE, REPO))
    ap.add_argument('--set', action='append', default=[], help='key=value override (repeatable)')
    ap.add_argument('--from', dest='start', default=None, help='redo this stage and everything after it')
    ap.add_argument('--only', default=None, help='run only this stage')
    ap.add_argument('--plan', action='store_true', help='print "<stage>\\t<command>" per command and exit')
    args = ap.parse_args(argv)
    recipe = args.config or (None if args.demo else DEFAULT_RECIPE)
    cfg = load_recipe(recipe, args.set, args.demo)
    run = os.path.abspath(args.run)
    wider_root = args.wider_root
    if args.demo and not wider_root:
        wider_root = os.path.join(run, 'demo_data')
    if not wider_root:
        ap.error('give --wider_root DIR or --demo')
    todo = stages(run, cfg, os.path.abspath(wider_root), demo=args.demo)
    if args.plan:
        print('\n'.join(plan_lines(todo)))
        return 0
    if args.demo and not os.path.exists(os.path.join(wider_root, 'wider_face_split', 'wider_face_train.mat')):
        from prepare_data.demo_set import make_demo_set
        rep = make_demo_set(wider_root, seed=cfg['seed'])
        print('[pipeline] demo set: %s' % ', '.join('%s %d images / %d faces' % (k, *v) for k, v in rep.items()))
    prefixes, epochs, networks = cascade(cfg, run)
    extra = dict(config=cfg, recipe=os.path.abspath(recipe) if recipe else None,
                 cascade=dict(prefix=prefixes, epoch=epochs, networks=networks, thresh=cfg['eval_thresh'],
                              min_face=cfg['min_face']))
    try:
        manifest = run_stages(run, todo, REPO, args.start, args.only, extra=extra)
    except StageFailed as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 1
    summary(run, manifest)
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
