"""The whole cascade in one resumable command, as the original's .bat sequence:

    annotations → P samples → train P → P hard negatives → train P with hard negatives → R samples
    + mining with P → train R → O samples + mining with P+R → train O → [extra Onet faces from a 5-point
    landmark set → the Onet fine-tuned with them] → evaluation

    python tools/pipeline.py --run runs/wider --wider_root data/WIDER        # this project's recipe
    python tools/pipeline.py --run runs/wider --wider_root data/WIDER --landmark_root data/landmarks5 \
        --set o_extra_list=new_training.txt                                   # + extra Onet faces
    python tools/pipeline.py --run runs/orig --wider_root data/WIDER --config scripts/recipes/original.json
    python tools/pipeline.py --run runs/demo --demo                           # embedded demo set
    python tools/pipeline.py --run runs/wider --wider_root data/WIDER --plan  # the commands, not run
    python tools/pipeline.py --run runs/wider --from r_train                  # redo from a stage
    python tools/pipeline.py --run runs/wider --to p_train                    # stop after a stage

Recipes are flat JSON files of settings (see ``core.recipes.pipeline_recipe.RECIPE_KEYS``; a file may inherit another
with ``"_base_"``; any key can be overridden with ``--set key=value``; ``--show`` prints the result).
A key no file sets keeps the original's value (its .bat files; the training phases come from
``scripts/recipes/train/``), so ``scripts/recipes/original.json`` states nothing: networks, learning
rates, batches, epochs, both phases of the two-phase trainings (P with hard negatives from scratch, R
and O), mining thresholds, the prob.txt face filter (with ``prob_file``).
``scripts/recipes/default.json`` (the default) is this project's recipe for small data sets: it
produced the committed default models; recipes were chosen on a dev split of the training images
(``dev_fraction``), on which the ``eval`` stage then runs. Stages and their keys: see
core/recipes.py.
"""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import cli  # noqa: E402
from core.common.stage_runner import StageFailed, plan_lines, run_stages  # noqa: E402
from core.recipes.pipeline_recipe import DEFAULT_RECIPE, cascade, load_recipe, stages  # noqa: E402


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


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--run', default=os.path.join('runs', 'pipeline'), help='run folder (manifest, logs, models)')
    ap.add_argument('--wider_root', default=None, help='WIDER FACE root (WIDER_train, WIDER_val, wider_face_split, '
                    'eval_tools)')
    ap.add_argument('--landmark_root', default=None, help="the 5-point landmark set's folder: a recipe's relative "
                    'o_extra_list (the default recipe: new_training.txt, the CUHK set) is found there')
    ap.add_argument('--demo', action='store_true', help='build and use the embedded demo set (scripts/recipes/demo.json)')
    ap.add_argument('--config', default=None, help='recipe JSON (default: %s; with --demo: demo.json only)'
                    % os.path.relpath(DEFAULT_RECIPE, REPO))
    ap.add_argument('--set', action='append', default=[], help='key=value override (repeatable)')
    ap.add_argument('--from', dest='start', default=None, help='redo this stage and everything after it')
    ap.add_argument('--only', default=None, help='run only this stage')
    ap.add_argument('--to', default=None, help='stop after this stage')
    ap.add_argument('--plan', action='store_true', help='print "<stage>\\t<command>" per command and exit')
    ap.add_argument('--show', action='store_true', help='print the resolved recipe (every setting, JSON) and exit')
    args = ap.parse_args(argv)
    recipe = args.config or (None if args.demo else DEFAULT_RECIPE)
    cfg = load_recipe(recipe, args.set, args.demo)
    if args.show:
        import json
        print(json.dumps(cfg, indent=1))
        return 0
    run = os.path.abspath(args.run)
    wider_root = args.wider_root
    if args.demo and not wider_root:
        wider_root = os.path.join(run, 'demo_data')
    if not wider_root:
        ap.error('give --wider_root DIR or --demo')
    wider_root = os.path.abspath(wider_root)
    unplaced = cfg['o_extra_list'] if cfg['o_extra_list'] and not os.path.isabs(cfg['o_extra_list']) else None
    if unplaced and args.landmark_root:
        cfg['o_extra_list'], unplaced = os.path.abspath(os.path.join(args.landmark_root, unplaced)), None
    photo = None
    if args.demo:
        from prepare_data.demo_set import PHOTO
        photo = os.path.join(wider_root, PHOTO)
    todo = stages(run, cfg, wider_root, demo=args.demo, photo=photo)
    if args.to:
        names = [s.name for s in todo]
        if args.to not in names:
            ap.error('unknown stage %r for --to (stages: %s)' % (args.to, ', '.join(names)))
        todo = todo[:names.index(args.to) + 1]
    if unplaced and any(s.name.startswith('x_') for s in todo):
        ap.error('the recipe adds the faces of the 5-point list %r to the Onet: give --landmark_root DIR (its '
                 'folder, e.g. the CUHK set) or --set o_extra_list= for none' % unplaced)
    if not args.plan and cfg['o_extra_list'] and not unplaced and any(s.name.startswith('x_') for s in todo) \
            and not os.path.isfile(cfg['o_extra_list']):
        ap.error('o_extra_list: no such 5-point list: %s' % cfg['o_extra_list'])
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
