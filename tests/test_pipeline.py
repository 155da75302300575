"""Pipeline: the runner (manifest, skip/redo, --from/--only, failures) and recipes (the original's .bat
sequence command by command, validation of settings). Interruptions of the pipeline and of every
command it runs are tested in test_kill.py."""
import json
import os
import shlex
import subprocess
import sys

import pytest

from core.common.stage_runner import Stage, StageFailed, run_stages
from conftest import REPO

QUIET = lambda *a: None  # noqa: E731


def _fake(run, counter, cfg):
    out = []
    for name in ('a', 'b', 'c'):
        target = os.path.join(run, name + '.txt')
        code = ("import sys; open(%r, 'a').write(%r); open(%r, 'w').write(%r)"
                % (counter, name, target, str(cfg.get(name, 0))))
        out.append(Stage(name, [sys.executable, '-c', code], [target]))
    return out


def test_skip_redo_from_only(tmp_path):
    counter, run = str(tmp_path / 'calls'), str(tmp_path / 'run')
    cfg = {'a': 1, 'b': 1, 'c': 1}
    run_stages(run, _fake(run, counter, cfg), REPO, log=QUIET)
    assert open(counter).read() == 'abc'
    run_stages(run, _fake(run, counter, cfg), REPO, log=QUIET)
    assert open(counter).read() == 'abc'  # everything up to date
    os.remove(os.path.join(run, 'b.txt'))  # a lost output is redone, and so is what follows
    run_stages(run, _fake(run, counter, cfg), REPO, log=QUIET)
    assert open(counter).read() == 'abcb'
    run_stages(run, _fake(run, counter, cfg), REPO, start='b', log=QUIET)
    assert open(counter).read() == 'abcbbc'
    run_stages(run, _fake(run, counter, cfg), REPO, only='a', log=QUIET)
    assert open(counter).read() == 'abcbbca'
    run_stages(run, _fake(run, counter, dict(cfg, b=2)), REPO, log=QUIET)  # a changed stage and what follows
    assert open(counter).read() == 'abcbbcabc'
    man = json.load(open(os.path.join(run, 'manifest.json')))
    assert set(man['stages']) == {'a', 'b', 'c'} and all(s['status'] == 'done' for s in man['stages'].values())
    with pytest.raises(ValueError, match='unknown stage'):
        run_stages(run, _fake(run, counter, cfg), REPO, only='zzz', log=QUIET)


def test_failed_stage_stops_with_its_log(tmp_path):
    bad = [Stage('bad', [sys.executable, '-c', 'import sys; print("something broke"); sys.exit(3)'],
                 [str(tmp_path / 'x')])]
    with pytest.raises(StageFailed, match='stage bad failed \\(exit 3\\): something broke'):
        run_stages(str(tmp_path / 'r'), bad, REPO, log=QUIET)
    man = json.load(open(str(tmp_path / 'r' / 'manifest.json')))
    assert man['stages']['bad']['status'] == 'failed'
    assert 'something broke' in open(str(tmp_path / 'r' / 'logs' / 'bad.log')).read()


def _pipeline(args, **kw):
    return subprocess.run([sys.executable, 'tools/pipeline.py'] + args, cwd=REPO, capture_output=True, text=True, **kw)


# The original's .bat files, command by command (P20_gen_data.bat ... O_train_with_hard.bat): script and
# the settings of the step (--gpus / --thread_num are machine settings; paths differ by design). A training
# step's settings are in the recipe file its command reads.
BAT = [
    ('anno', 'gen_anno_and_train_list.py', ''),
    ('p_data', 'gen_data.py', '--size 20 --base_num 1 --prob_thresh 0.15'),
    ('p_list', 'gen_imglist.py', '--size 20 --base_num 1'),
    ('p_train', 'train_P20.py', '--lr 0.001 --end_epoch 16 --lr_epoch 8,14 --frequent 10 --batch_size 1000'),
    ('p_hard', 'gen_hard_example.py', '--test_mode hardpnet20 --epoch 16 --thresh 0.5'),
    ('p_list_hard', 'gen_imglist.py', '--size 20 --base_num 1 --with_hard'),
    ('p_train_hard', 'train_P20.py', '--lr 0.001 --end_epoch 8 --lr_epoch 4,8 --batch_size 200 --frequent 1000'),
    ('p_train_hard_2', 'train_P20.py', '--lr 0.00001 --end_epoch 32 --begin_epoch 8 --lr_epoch 100,200 '
                                       '--batch_size 50000 --frequent 10'),
    ('r_data', 'gen_data.py', '--size 24 --base_num 1 --prob_thresh 0.15'),
    ('r_hard', 'gen_hard_example.py', '--test_mode rnet --epoch 16 --thresh 0.5'),
    ('r_list', 'gen_imglist.py', '--size 24 --with_hard --base_num 1'),
    ('r_train', 'train_R.py', '--lr 0.003 --end_epoch 3 --lr_epoch 8,14,100 --batch_size 500'),
    ('r_train_2', 'train_R.py', '--lr 0.001 --end_epoch 16 --begin_epoch 3 --lr_epoch 8,14,100 '
                                '--batch_size 10000 --frequent 20'),
    ('o_data', 'gen_data.py', '--size 48 --base_num 1 --prob_thresh 0.15'),
    ('o_hard', 'gen_hard_example.py', '--test_mode onet --epoch 16,16 --thresh 0.6,0.5'),
    ('o_list', 'gen_imglist.py', '--size 48 --with_hard --base_num 1'),
    ('o_train', 'train_O.py', '--lr 0.003 --end_epoch 3 --lr_epoch 8,14,100 --batch_size 500'),
    ('o_train_2', 'train_O.py', '--lr 0.001 --end_epoch 16 --begin_epoch 3 --lr_epoch 8,14,100 '
                                '--batch_size 5000 --frequent 20'),
]
NETWORKS = {'train_P20.py': 'Pnet20_v0', 'train_R.py': 'Rnet_v1', 'train_O.py': 'Onet_v1'}


def _flags(args):
    out, i = {}, 0
    while i < len(args):
        if i + 1 < len(args) and not args[i + 1].startswith('--'):
            out[args[i]] = args[i + 1]
            i += 2
        else:
            out[args[i]] = True
            i += 1
    return out


def _same(a, b):
    if a is True or b is True:
        return a == b
    if isinstance(a, list):
        a = ','.join(map(str, a))
    try:
        return abs(float(a) - float(b)) < 1e-12
    except ValueError:
        return a == b


def _settings(stage):
    """What a stage runs with: its command's flags, and for a training stage its recipe file's phase."""
    flags = _flags(stage.argv[2:])
    if not stage.writes:
        return flags
    recipe = json.loads(list(stage.writes.values())[0])
    phase = recipe['phases'][int(flags.get('--phase', 1)) - 1]
    have = {'--' + k: v for k, v in dict(recipe, **phase).items() if k != 'phases'}
    return dict(have, **flags)


def test_original_recipe_is_the_bat_sequence(tmp_path):
    from core.recipes.pipeline_recipe import ORIGINAL_RECIPE, load_recipe, stages
    todo = stages(str(tmp_path / 'run'), load_recipe(ORIGINAL_RECIPE), str(tmp_path / 'W'))
    assert [s.name for s in todo] == [b[0] for b in BAT] + ['eval']
    for stage, (want_stage, script, flags) in zip(todo, BAT):
        assert os.path.basename(stage.argv[1]) == script, stage.name
        have = _settings(stage)
        for k, v in _flags(flags.split()).items():
            assert k in have and _same(have[k], v), (stage.name, k, v, have.get(k))
        if script in NETWORKS:
            assert have['--network'] == NETWORKS[script]
            assert '--pretrained' not in have  # phase 1 from scratch; phase 2 continues where phase 1 ended
    # --plan prints the commands; a training command reads its stage's recipe file
    r = _pipeline(['--run', str(tmp_path / 'run'), '--wider_root', str(tmp_path / 'W'), '--config',
                   'scripts/recipes/original.json', '--plan'])
    assert r.returncode == 0, r.stderr
    plan = dict(ln.split('\t') for ln in r.stdout.strip().splitlines())
    assert shlex.split(plan['o_train_2'])[1:] == ['train_O.py', '--recipe', str(tmp_path / 'run' / 'recipes' /
                                                  'o_train.json'), '--phase', '2', '--begin_epoch', '3',
                                                  '--workers', '2']
    # --show prints every resolved setting; original.json states only what differs from the fields' defaults
    r = _pipeline(['--config', 'scripts/recipes/original.json', '--show'])
    shown = json.loads(r.stdout)
    assert shown['o']['train']['phases'][1]['batch_size'] == 5000 and shown['ph']['use_epoch'] == 16
    assert shown['detector']['thresh'] == [0.5, 0.5, 0.7] and shown['data']['prob_thresh'] == 0.15
    recipe = json.load(open(os.path.join(REPO, 'scripts', 'recipes', 'original.json')))
    from core.recipes.pipeline_recipe import StagePlan
    for k, section in recipe.items():
        for key, v in (section.items() if isinstance(section, dict) else ()):
            assert getattr(StagePlan, key) != (tuple(v) if isinstance(v, list) else v), (k, key)


def test_a_training_stage_runs_its_recipe_file(tmp_path):
    """The stage's file is the trainer's recipe: the lr goes from the pipeline recipe to the optimizer
    through that file and nothing else."""
    from core.recipes import training_recipe as T
    from core.recipes.pipeline_recipe import DEFAULT_RECIPE, load_recipe, stages
    todo = {s.name: s for s in stages(str(tmp_path), load_recipe(DEFAULT_RECIPE, ['o.train.phases.1.lr=0.03']),
                                      str(tmp_path / 'W'))}
    (path, text), = todo['o_train'].writes.items()
    with open(path if os.path.exists(path) else str(tmp_path / 'o.json'), 'w') as f:
        f.write(text)
    recipe = T.load(f.name)
    assert recipe.phases[0].lr == 0.03 and recipe.phases[0].end_epoch == 12 and recipe.network == 'Onet_v1'
    assert recipe.flip is False and recipe.ohem is False and recipe.image_set == str(tmp_path / 'lists' / 'o.txt')
    assert todo['o_train'].fingerprint == text  # the stage key covers the file


def test_recipes_inherit_with_base(tmp_path):
    from core.recipes.pipeline_recipe import DEFAULT_RECIPE, ORIGINAL_RECIPE, load_recipe
    (tmp_path / 'a.json').write_text('{"_base_": "../recipes_b/b.json", "p": {"base_num": 3}}')
    (tmp_path.parent / 'recipes_b').mkdir(exist_ok=True)
    (tmp_path.parent / 'recipes_b' / 'b.json').write_text(json.dumps({'_base_': DEFAULT_RECIPE, 'p': {'base_num': 5},
                                                                      'r': {'base_num': 1}}))
    cfg = load_recipe(str(tmp_path / 'a.json'))
    default, original = load_recipe(DEFAULT_RECIPE), load_recipe(ORIGINAL_RECIPE)
    assert (cfg.p.base_num, cfg.r.base_num) == (3, 1)  # the nearest file wins
    assert cfg.p.train == default.p.train  # objects merge key by key: the base's train section stays
    assert default.o.train.phases[0].lr == 0.05 and original.o.train.phases[0].lr == 0.003
    (tmp_path / 'loop.json').write_text('{"_base_": "loop.json"}')
    r = _pipeline(['--config', str(tmp_path / 'loop.json'), '--show'])
    assert r.returncode == 2 and '_base_ chain loops back' in r.stderr and 'Traceback' not in r.stderr


def test_recipe_errors_are_one_line(tmp_path):
    bad = tmp_path / 'bad.json'
    for text, message in (('{"p": {"base_num": 3},', 'bad.json:1: not valid JSON'),
                          ('[1, 2]', 'a pipeline recipe is a JSON object'),
                          ('{"p": {"base_nm": 3}}', "bad.json: p: unknown setting 'base_nm' \\(did you mean base_num"),
                          ('{"o": {"train": {"ohem": "ture"}}}', "bad.json: o.train: ohem='ture' is not a boolean"),
                          ('{"o": {"train": {"phases": [{"lr": -1}]}}}', 'bad.json: o.train: phases\\[1\\]: lr=-1.0 '
                                                                          'must be above 0'),
                          ('{"p": {"train": {"phases": [{"lr": null}]}}}', 'lr=None is not a number'),
                          ('{"p": {"mine_thresh": [0.5]}}', 'mine_thresh does not apply to stage p'),
                          ('{"r": {"train": {"seed": 3}}}', 'seed is set by the pipeline'),
                          ('{"o": {"mine_thresh": [0.5]}}', 'o.mine_thresh: 1 given, it takes 2, one per net that mines it'),
                          ('{"detector": {"thresh": [2, 2, 2]}}', 'detector: thresh=2.0,2.0,2.0 must be at most 1')):
        bad.write_text(text)
        r = _pipeline(['--run', str(tmp_path / 'r'), '--wider_root', str(tmp_path), '--config', str(bad), '--plan'])
        assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr
        assert __import__('re').search(message, r.stderr), (message, r.stderr)
    for sets, message in ((['p.train.phases.1.end_epoch=abc'], "--set p.train.phases.1.end_epoch=abc: p.train."
                                                               "phases.1: end_epoch='abc' is not a whole number"),
                          (['o.train.flip=of'], "o.train: flip='of' is not a boolean"),
                          (['o.train.phases.3.lr=0.1'], 'phases.3: the stage has 1 phase'),
                          (['o.epochs=3'], "unknown setting 'epochs'")):
        r = _pipeline(['--run', str(tmp_path / 'r'), '--wider_root', str(tmp_path), '--plan'] +
                      [a for s in sets for a in ('--set', s)])
        assert r.returncode == 2 and 'Traceback' not in r.stderr and message in r.stderr, (message, r.stderr)


def test_to_stops_after_a_stage(tmp_path):
    r = _pipeline(['--run', str(tmp_path / 'r'), '--wider_root', str(tmp_path), '--plan', '--to', 'p_train'])
    assert r.returncode == 0, r.stderr
    assert [ln.split('\t')[0] for ln in r.stdout.splitlines()] == ['anno', 'p_data', 'p_list', 'p_train']
    r = _pipeline(['--run', str(tmp_path / 'r'), '--wider_root', str(tmp_path), '--plan', '--to', 'p_trian'])
    assert r.returncode == 2 and "unknown stage 'p_trian'" in r.stderr


def test_changed_settings_change_the_stage_keys(tmp_path):
    from core.common.stage_runner import stage_key
    from core.recipes.pipeline_recipe import load_recipe, stages
    keys = []
    for sets in ((), ('p.train.phases.1.end_epoch=3',)):
        prev, k = '', {}
        for s in stages(str(tmp_path), load_recipe(None, sets), str(tmp_path)):
            prev = k[s.name] = stage_key(s.name, s.argv, prev, s.fingerprint)
        keys.append(k)
    a, b = keys
    assert a['p_data'] == b['p_data'] and a['p_train'] != b['p_train'] and a['eval'] != b['eval']


def test_extra_onet_faces_stages(tmp_path):
    """extra.list: the 5-point faces are checked, boxed by the run's own cascade, cut into 48 px
    positives and parts, added whole to the Onet list, and the Onet is fine-tuned on it (from its last
    epoch, with the O recipe's OHEM and mirroring unless extra.train says otherwise); the eval and the
    cascade use the fine-tuned Onet. A relative list needs --landmark_root, only when those stages are run."""
    run, lm = tmp_path / 'run', tmp_path / 'lm'
    sets = ['--set', 'extra.list=new_training.txt']  # the default recipe states the fine-tune's schedule
    args = ['--run', str(run), '--wider_root', str(tmp_path / 'W')] + sets
    base = args + ['--plan']
    r = _pipeline(base)
    assert r.returncode == 2 and '--landmark_root' in r.stderr and 'Traceback' not in r.stderr, r.stderr
    assert _pipeline(base + ['--to', 'o_train']).returncode == 0  # the stages before need no landmark set
    r = _pipeline(base + ['--landmark_root', str(lm)])
    assert r.returncode == 0, r.stderr
    plan = dict(ln.split('\t') for ln in r.stdout.strip().splitlines())
    names = [ln.split('\t')[0] for ln in r.stdout.strip().splitlines()]
    assert names[names.index('o_train') + 1:] == ['x_clean', 'x_boxes', 'x_data', 'x_list', 'x_train', 'eval']
    assert str(lm / 'new_training.txt') in plan['x_clean']
    boxes = _flags(shlex.split(plan['x_boxes'])[2:])
    assert boxes['--prefix'].endswith(os.path.join('model', 'onet')) and boxes['--epoch'] == '4,7,12'
    assert (boxes['--onet_flip'], boxes['--onet_passes'], boxes['--thresh']) == ('on', '2', '0.2,0.3,0.1')
    assert _flags(shlex.split(plan['x_list'])[2:])['--extra'] == str(run / 'extra' / 'samples')
    train = _flags(shlex.split(plan['x_train'])[2:])
    assert (train['--pretrained'], train['--epoch']) == (str(run / 'model' / 'onet'), '12')
    from core.recipes.pipeline_recipe import DEFAULT_RECIPE, load_recipe
    extra = load_recipe(DEFAULT_RECIPE).extra.train
    assert (extra.phases[0].end_epoch, extra.phases[0].lr, extra.ohem, extra.flip) == (2, 0.002, True, True)
    assert _flags(shlex.split(plan['eval'])[2:])['--prefix'].endswith('onet_extra')
    r = _pipeline(base + ['--set', 'extra.list=null', '--landmark_root', str(lm)])
    assert r.returncode == 0 and 'x_train' not in r.stdout and 'onet_extra' not in r.stdout
    r = _pipeline(args + ['--landmark_root', str(lm), '--to', 'x_clean'])  # run, not plan: the list is checked
    assert r.returncode == 2 and 'no such 5-point list' in r.stderr
