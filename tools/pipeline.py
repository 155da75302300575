"""The whole cascade in one resumable command, as the original's .bat sequence:

    annotations → P samples → train P → P hard negatives → train P with hard negatives → R samples
    + mining with P → train R → O samples + mining with P+R → train O → [extra Onet faces from a 5-point
    landmark set → the Onet fine-tuned with them] → evaluation

    python tools/pipeline.py --run runs/wider --wider_root data/WIDER        # this project's recipe
    python tools/pipeline.py --run runs/wider --wider_root data/WIDER --landmark_root data/landmarks5 \
        --set extra.list=new_training.txt                                     # + extra Onet faces
    python tools/pipeline.py --run runs/orig --wider_root data/WIDER --config scripts/recipes/original.json
    python tools/pipeline.py --run runs/demo --demo                           # embedded demo set
    python tools/pipeline.py --run runs/wider --wider_root data/WIDER --plan  # the commands, not run
    python tools/pipeline.py --show --set o.train.phases.1.lr=0.02            # the resolved recipe
    python tools/pipeline.py --run runs/wider --from r_train                  # redo from a stage
    python tools/pipeline.py --run runs/wider --to p_train                    # stop after a stage

A recipe (``--config``, default ``scripts/recipes/default.json``, the one that trained model/default) is
made of stage recipes: each training stage's ``train`` section is a training recipe in the format of
``scripts/recipes/train/`` (core/recipes/pipeline_recipe.py says every key). Every recipe starts from
``scripts/recipes/original.json``, the original's .bat sequence. Each training stage's resolved recipe is
written to ``<run>/recipes/<stage>.json`` and its trainer runs ``--recipe`` on that file; a stage reruns
when its command or that file changes.
"""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import cli  # noqa: E402
from core.common.stage_runner import StageFailed, plan_lines, run_stages  # noqa: E402
from core.recipes.pipeline_recipe import DEFAULT_RECIPE, cascade, load_recipe, show, stages  # noqa: E402


def summary(run, manifest, log=print):
    import csv
    log('\n== summary: %s' % run)
    total = 0.0
    for name, e in manifest['stages'].items():
        total += e.get('seconds', 0)
        log('%-13s %6.0f s  %s' % (name, e.get('seconds', 0), e.get('summary', '')[:100]))
    for net in ('pnet20', 'pnet20_hard', 'rnet', 'onet', 'onet_extra'):
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


def _parser():
    ap = cli.parser(__doc__)
    ap.add_argument('--run', default=os.path.join('runs', 'pipeline'), help='run folder (manifest, logs, models)')
    ap.add_argument('--wider_root', default=None, help='WIDER FACE root (WIDER_train, WIDER_val, wider_face_split, '
                    'eval_tools)')
    ap.add_argument('--landmark_root', default=None, help="the 5-point landmark set's folder, where a relative "
                    'extra.list (e.g. new_training.txt, the CUHK set) is found')
    ap.add_argument('--demo', action='store_true', help='build and use the embedded demo set (scripts/recipes/demo.json)')
    ap.add_argument('--config', default=None, help='recipe JSON (default: %s; with --demo: demo.json only)'
                    % os.path.relpath(DEFAULT_RECIPE, REPO))
    ap.add_argument('--set', action='append', default=[], metavar='KEY.PATH=VALUE',
                    help='override one setting, e.g. o.train.phases.1.lr=0.02 or data.dev_fraction=0.2 (repeatable)')
    ap.add_argument('--from', dest='start', default=None, help='redo this stage and everything after it')
    ap.add_argument('--only', default=None, help='run only this stage')
    ap.add_argument('--to', default=None, help='stop after this stage')
    ap.add_argument('--plan', action='store_true', help='print "<stage>\\t<command>" per command and exit')
    ap.add_argument('--show', action='store_true', help='print the resolved recipe (every setting, JSON) and exit')
    return ap


def _extra_list(recipe, landmark_root, todo, plan):
    """The recipe with its extra face list placed under ``--landmark_root`` and checked where its stages run."""
    import dataclasses
    path = recipe.extra.list
    runs = any(s.name.startswith('x_') for s in todo)
    if not path or not runs:
        return recipe
    if not os.path.isabs(path):
        if not landmark_root:
            raise cli.SettingError('the recipe adds the faces of the 5-point list %r to the Onet: give '
                                   '--landmark_root DIR (its folder, e.g. the CUHK set) or --set extra.list=null '
                                   'for none' % path)
        path = os.path.abspath(os.path.join(landmark_root, path))
    if not plan and not os.path.isfile(path):
        raise cli.SettingError('extra.list: no such 5-point list: %s' % path)
    return dataclasses.replace(recipe, extra=dataclasses.replace(recipe.extra, list=path))


def _todo(recipe, run, wider_root, demo, to):
    photo = None
    if demo:
        from prepare_data.demo_set import PHOTO
        photo = os.path.join(wider_root, PHOTO)
    todo = stages(run, recipe, wider_root, demo=demo, photo=photo)
    if to:
        names = [s.name for s in todo]
        if to not in names:
            raise cli.SettingError('--to: unknown stage %r (stages: %s)' % (to, ', '.join(names)))
        todo = todo[:names.index(to) + 1]
    return todo


def main(argv=None):
    import json
    ap = _parser()
    args = ap.parse_args(argv)
    config = args.config or (None if args.demo else DEFAULT_RECIPE)
    recipe = load_recipe(config, args.set, args.demo)
    if args.show:
        print(json.dumps(show(recipe), indent=1))
        return 0
    run = os.path.abspath(args.run)
    wider_root = args.wider_root or (os.path.join(run, 'demo_data') if args.demo else None)
    if not wider_root:
        ap.error('give --wider_root DIR or --demo')
    wider_root = os.path.abspath(wider_root)
    todo = _todo(recipe, run, wider_root, args.demo, args.to)
    recipe = _extra_list(recipe, args.landmark_root, todo, args.plan)
    todo = _todo(recipe, run, wider_root, args.demo, args.to)
    if args.plan:
        print('\n'.join(plan_lines(todo)))
        return 0
    if not args.demo and not os.path.isdir(os.path.join(wider_root, 'wider_face_split')):
        raise cli.SettingError('--wider_root: %s has no wider_face_split folder (WIDER FACE\'s layout: WIDER_train, '
                               'WIDER_val, wider_face_split, eval_tools)' % wider_root)
    if args.demo and not os.path.exists(os.path.join(wider_root, 'wider_face_split', 'wider_face_train.mat')):
        from prepare_data.demo_set import make_demo_set
        rep = make_demo_set(wider_root, seed=recipe.seed)
        print('[pipeline] demo set: %s' % ', '.join('%s %d images / %d faces' % (k, *v) for k, v in rep.items()))
    prefixes, epochs, networks = cascade(recipe, run)
    extra = dict(config=show(recipe), recipe=os.path.abspath(config) if config else None,
                 cascade=dict(prefix=prefixes, epoch=epochs, networks=networks, settings=show(recipe.detector)))
    try:
        manifest = run_stages(run, todo, REPO, args.start, args.only, extra=extra)
    except StageFailed as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 1
    summary(run, manifest)
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
