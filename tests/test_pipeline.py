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
# the flags that set the recipe (--gpus / --thread_num are machine settings; paths differ by design).
BAT = [
    ('anno', 'gen_anno_and_train_list.py', ''),
    ('p_data', 'gen_data.py', '--size 20 --base_num 1 --prob_thresh 0.15'),
    ('p_list', 'gen_imglist.py', '--size 20 --base_num 1'),
    ('p_train', 'train_P20.py', '--lr 0.001 --end_epoch 16 --lr_epoch 8,14 --frequent 10 --batch_size 1000'),
    ('p_hard', 'gen_hard_example.py', '--test_mode hardpnet20 --epoch 16 --thresh 0.5'),
    ('p_list_hard', 'gen_imglist.py', '--size 20 --base_num 1 --with_hard'),
    ('p_train_hard', 'train_P20.py', '--lr 0.001 --end_epoch 8 --lr_epoch 4,8 --batch_size 200 --frequent 1000'),
    ('p_train_hard_2', 'train_P20.py', '--lr 0.00001 --end_epoch 32 --epoch 8 --begin_epoch 8 --resume '
                                       '--lr_epoch 100,200 --batch_size 50000 --frequent 10'),
    ('r_data', 'gen_data.py', '--size 24 --base_num 1 --prob_thresh 0.15'),
    ('r_hard', 'gen_hard_example.py', '--test_mode rnet --epoch 16 --thresh 0.5'),
    ('r_list', 'gen_imglist.py', '--size 24 --with_hard --base_num 1'),
    ('r_train', 'train_R.py', '--lr 0.003 --end_epoch 3 --lr_epoch 8,14,100 --batch_size 500'),
    ('r_train_2', 'train_R.py', '--lr 0.001 --end_epoch 16 --epoch 3 --begin_epoch 3 --resume --lr_epoch 8,14,100 '
                                '--batch_size 10000 --frequent 20'),
    ('o_data', 'gen_data.py', '--size 48 --base_num 1 --prob_thresh 0.15'),
    ('o_hard', 'gen_hard_example.py', '--test_mode onet --epoch 16,16 --thresh 0.6,0.5'),
    ('o_list', 'gen_imglist.py', '--size 48 --with_hard --base_num 1'),
    ('o_train', 'train_O.py', '--lr 0.003 --end_epoch 3 --lr_epoch 8,14,100 --batch_size 500'),
    ('o_train_2', 'train_O.py', '--lr 0.001 --end_epoch 16 --epoch 3 --begin_epoch 3 --resume --lr_epoch 8,14,100 '
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
    try:
        return abs(float(a) - float(b)) < 1e-12
    except ValueError:
        return a == b


def test_original_recipe_plan_is_the_bat_sequence(tmp_path):
    r = _pipeline(['--run', str(tmp_path / 'run'), '--wider_root', str(tmp_path / 'W'), '--config',
                   'scripts/recipes/original.json', '--plan'])
    assert r.returncode == 0, r.stderr
    plan = [ln.split('\t') for ln in r.stdout.strip().splitlines()]
    assert [p[0] for p in plan] == [b[0] for b in BAT] + ['eval']
    for (stage, cmd), (want_stage, script, flags) in zip(plan, BAT):
        argv = shlex.split(cmd)
        assert argv[0] == 'python' and os.path.basename(argv[1]) == script, (stage, cmd)
        have = _flags(argv[2:])
        for k, v in _flags(flags.split()).items():
            assert k in have and _same(have[k], v), (stage, k, v, have.get(k))
        if script in NETWORKS:
            assert have['--network'] == NETWORKS[script]
            assert ('--pretrained' in have) == stage.endswith('_2')  # phase 1 from scratch, phase 2 resumes
    # the built-in values are the original's: its recipe file states nothing, and --show prints them all
    from core.recipes.pipeline_recipe import RECIPE_KEYS
    recipe = json.load(open(os.path.join(REPO, 'scripts', 'recipes', 'original.json')))
    assert [k for k in recipe if not k.startswith('_')] == []
    r = _pipeline(['--config', 'scripts/recipes/original.json', '--show'])
    assert r.returncode == 0 and json.loads(r.stdout) == RECIPE_KEYS, r.stderr


def test_recipes_inherit_with_base(tmp_path):
    from core.recipes.pipeline_recipe import RECIPE_KEYS, load_recipe
    (tmp_path / 'a.json').write_text('{"_base_": "../recipes_b/b.json", "p_epochs": 3}')
    (tmp_path.parent / 'recipes_b').mkdir(exist_ok=True)
    (tmp_path.parent / 'recipes_b' / 'b.json').write_text(json.dumps({'_base_': os.path.join(
        REPO, 'scripts', 'recipes', 'default.json'), 'p_epochs': 5, 'r_epochs': 2}))
    cfg = load_recipe(str(tmp_path / 'a.json'))
    default = load_recipe(os.path.join(REPO, 'scripts', 'recipes', 'default.json'))
    assert (cfg['p_epochs'], cfg['r_epochs'], cfg['o_lr']) == (3, 2, default['o_lr'])  # the nearest file wins
    assert default['o_lr'] == 0.05 and RECIPE_KEYS['o_lr'] == 0.003
    (tmp_path / 'loop.json').write_text('{"_base_": "loop.json"}')
    r = _pipeline(['--config', str(tmp_path / 'loop.json'), '--show'])
    assert r.returncode == 2 and '_base_ chain loops back' in r.stderr and 'Traceback' not in r.stderr


def test_recipe_errors_are_one_line(tmp_path):
    bad = tmp_path / 'bad.json'
    for text, message in (('{"p_epochs": 3,', 'bad.json:1: not valid JSON'), ('[1, 2]', 'a recipe is a JSON object'),
                          ('{"p_epoch": 3}', "unknown setting 'p_epoch' \\(did you mean p_epochs")):
        bad.write_text(text)
        r = _pipeline(['--run', str(tmp_path / 'r'), '--wider_root', str(tmp_path), '--config', str(bad), '--plan'])
        assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr
        assert __import__('re').search(message, r.stderr), r.stderr
    r = _pipeline(['--run', str(tmp_path / 'r'), '--wider_root', str(tmp_path), '--set', 'p_epochs=abc', '--plan'])
    assert r.returncode == 2 and "p_epochs='abc' is not an int" in r.stderr


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
    for sets in ((), ('p_epochs=3',)):
        prev, k = '', {}
        for s in stages(str(tmp_path), load_recipe(None, sets), str(tmp_path)):
            prev = k[s.name] = stage_key(s.name, s.argv, prev)
        keys.append(k)
    a, b = keys
    assert a['p_data'] == b['p_data'] and a['p_train'] != b['p_train'] and a['eval'] != b['eval']


def test_extra_onet_faces_stages(tmp_path):
    """o_extra_list: the 5-point faces are checked, boxed by the run's own cascade, cut into 48 px
    positives and parts, added whole to the Onet list, and the Onet is fine-tuned on it (from its last
    epoch, with the O recipe's OHEM and mirroring unless ox_* says otherwise); the eval and the cascade
    use the fine-tuned Onet. A relative list needs --landmark_root, only when those stages are run."""
    run, lm = tmp_path / 'run', tmp_path / 'lm'
    sets = ['--set', 'o_extra_list=new_training.txt']  # the default recipe states the fine-tune's schedule
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
    assert (train['--pretrained'], train['--epoch'], train['--end_epoch'], train['--lr']) == \
        (str(run / 'model' / 'onet'), '12', '2', '0.002')
    assert '--no_ohem' not in train and '--no_flip' not in train
    assert _flags(shlex.split(plan['eval'])[2:])['--prefix'].endswith('onet_extra')
    r = _pipeline(base + ['--set', 'o_extra_list=', '--landmark_root', str(lm)])
    assert r.returncode == 0 and 'x_train' not in r.stdout and 'onet_extra' not in r.stdout
    r = _pipeline(args + ['--landmark_root', str(lm), '--to', 'x_clean'])  # run, not plan: the list is checked
    assert r.returncode == 2 and 'no such 5-point list' in r.stderr
