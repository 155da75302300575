"""Typed training recipes: the recipe files are the original's .bat settings, inheritance and mistakes,
one default per setting, flags generated from the fields, an explicit phase boundary, and the
pipeline's stage keys following the recipe files."""
import ast
import dataclasses
import glob
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import REPO
from core.recipes import training_recipe as R

# The original's training steps, from its .bat files and scripts (the seed's stage table): recipe ->
# (script, network, list, prefix, [(lr, lr_epoch, end_epoch, batch, frequent)], other settings).
ORIGINAL = {
    'P20': ('train_P20.py', 'Pnet20_v0', 'train_20_1', 'model/pnet20', [(0.001, (8, 14), 16, 1000, 10)], {}),
    'P20_hard': ('train_P20.py', 'Pnet20_v0', 'train_20_with_hard_1', 'model/pnet20_hard',
                 [(0.001, (4, 8), 8, 200, 1000), (0.00001, (100, 200), 32, 50000, 10)], {}),
    'P16': ('train_P16.py', 'Pnet16_v0', 'train_16_1', 'model/pnet16', [(0.01, (8, 14), 16, 512, 100)], {}),
    'R': ('train_R.py', 'Rnet_v1', 'train_24_with_hard_1', 'model/rnet',
          [(0.003, (8, 14, 100), 3, 500, 100), (0.001, (8, 14, 100), 16, 10000, 20)], {}),
    'O': ('train_O.py', 'Onet_v1', 'train_48_with_hard_1', 'model/onet',
          [(0.003, (8, 14, 100), 3, 500, 100), (0.001, (8, 14, 100), 16, 5000, 20)], {}),
    'O_landmark': ('train_O.py', 'Onet_v1', 'train_48_with_hard_landmark_1', 'model/onet',
                   [(0.005, (8, 14, 100), 30, 2000, 100)], dict(with_landmark=True)),
    'L': ('train_L.py', 'Lnet_v1', 'landmark', 'model/lnet', [(0.001, (8, 14, 100), 16, 2000, 100)], {}),
    'L_online': ('train_L.py', 'Lnet_v1', 'img_cut_celeba_all', 'model/lnet', [(0.01, (2000, 4000), 5000, 100, 100)],
                 dict(online=True, list_format='celeba', save_every=10)),
    'L_online_64': ('train_L.py', 'Lnet_v3', 'img_cut_celeba_all', 'model/lnet64_v3',
                    [(0.01, (2000, 4000), 5000, 100, 100)], dict(online=True, list_format='celeba', save_every=10)),
    'L106': ('train_L106.py', 'Lnet106_v1', '106data_merge', 'model/lnet106', [(0.01, (1000, 1500), 5000, 100, 10)],
             dict(online=True, list_format='l106', save_every=10)),
    'L106_112': ('train_L106.py', 'L106_Net112', '106data_merge', 'model/lnet106_112',
                 [(0.01, (2500, 5000, 8000), 8000, 100, 10)],
                 dict(online=True, list_format='l106', save_every=10, min_landmark_size=80)),
    'L106_96': ('train_L106.py', 'L106_Net96', '106data_merge', 'model/lnet106_96',
                [(0.01, (2500, 5000, 8000), 8000, 100, 10)], dict(online=True, list_format='l106', save_every=10)),
    'L106_80': ('train_L106.py', 'L106_Net80', '106data_merge', 'model/lnet106_80',
                [(0.01, (2500, 5000, 8000), 8000, 1000, 10)],
                dict(online=True, list_format='l106', save_every=10, min_landmark_size=80)),
    'L106_64': ('train_L106.py', 'L106_Net64', '106data_merge', 'model/lnet106_64',
                [(0.01, (2500, 5000, 8000), 8000, 100, 10)], dict(online=True, list_format='l106', save_every=10)),
    'L106_64_offline': ('train_L106.py', 'L106_Net64', 'landmark106_64', 'model/lnet106_64',
                        [(0.1, (200, 4000, 20000), 60000, 1000, 10)], dict(flip=False, save_every=10)),
    'L106_80_offline': ('train_L106.py', 'L106_Net80', 'landmark106', 'model/lnet106_80',
                        [(0.1, (200, 4000, 20000), 60000, 1000, 10)], dict(flip=False, save_every=10)),
}


def test_training_recipes_are_the_originals_and_state_nothing_else():
    assert set(ORIGINAL) <= set(R.names())
    for name, (script, network, image_set, prefix, phases, other) in ORIGINAL.items():
        r = R.load(name)
        assert (r.script, r.network, r.image_set, r.prefix) == (script, network, image_set, prefix), name
        assert [(p.lr, p.lr_epoch, p.end_epoch, p.batch_size, p.frequent) for p in r.phases] == phases, name
        for f in dataclasses.fields(R.StageRecipe):
            if f.name not in ('script', 'network', 'image_set', 'prefix', 'phases'):
                assert getattr(r, f.name) == other.get(f.name, f.default), (name, f.name)
        for p in r.phases:  # the phases differ from the defaults only where the .bat says
            assert p.optimizer == 'sgd' and p.wd == R.Phase.wd and p.fresh_optimizer
    assert (R.load('L106_64_offline').phases[0].begin_epoch, R.load('L106_80_offline').phases[0].begin_epoch) == (170, 570)
    box = R.load('L_box')  # this project's 5-point recipe (README, Landmarks)
    assert (box.framing, box.target_norm, box.landmark_loss, box.prelu_init, box.val_ratio, box.photometric,
            box.phases[0].optimizer, box.save_every, box.bn_momentum, box.phases[0].end_epoch) == \
        ('box', True, 'l1', 0.25, 0.1, False, 'adam', 1, 0.99, 64)


def test_recipe_files_inherit_and_name_their_mistakes(tmp_path):
    (tmp_path / 'base.json').write_text(json.dumps(dict(script='train_R.py', network='Rnet_v1', image_set='a',
                                                        prefix='m/r', phases=[dict(lr=0.1, end_epoch=4)])))
    (tmp_path / 'child.json').write_text(json.dumps({'_base_': 'base.json', '_about': 'a comment', 'seed': 3,
                                                     'phases': [{'lr': 0.2}, {'lr': '0.02', 'lr_epoch': '5,7'}]}))
    r = R.load(str(tmp_path / 'child.json'))
    assert (r.network, r.seed, r.prefix) == ('Rnet_v1', 3, 'm/r')
    assert r.phases == (R.Phase(lr=0.2), R.Phase(lr=0.02, lr_epoch=(5, 7)))  # a phases list replaces the base's
    for text, message in (('{"sed": 1}', "unknown setting 'sed' \\(did you mean seed"),
                          ('{"seed": "x"}', "seed='x' is not a whole number"),
                          ('{"seed": -1}', 'seed=-1 must be at least 0'),
                          ('{"phases": [{"lr": 0.1, "batch": 5}]}', "phases\\[1\\]: unknown setting 'batch' \\(did you "
                                                                    "mean batch_size"),
                          ('{"optimizer": "adam"}', "unknown setting 'optimizer'"),
                          ('{"phases": [{"optimizer": "rmsprop"}]}', "optimizer='rmsprop' is not one of sgd, adam"),
                          ('{"phases": [{"batch_size": 0}]}', 'batch_size=0 must be at least 1'),
                          ('{"phases": [{"lr": 0.1}, {"lr": "nan"}]}', "phases\\[2\\]: lr='nan' is not a number"),
                          ('{"ohem": "ture"}', "ohem='ture' is not a boolean"),
                          ('{"box_jitter": [0.1, 0.1]}', 'box_jitter has 2 values, it takes 3'),
                          ('{"min_rot_angle": 50}', 'min_rot_angle=50 is above max_rot_angle=45'),
                          ('{"phases": []}', 'phases must be a non-empty list'),
                          ('{"_base_": "bad.json"}', '_base_ chain loops back'),
                          ('{"seed": 1,', 'not valid JSON')):
        (tmp_path / 'bad.json').write_text(text)
        with pytest.raises(ValueError, match=message) as err:
            R.load(str(tmp_path / 'bad.json'))
        assert 'bad.json' in str(err.value)
    with pytest.raises(FileNotFoundError, match='training recipe not found: nope'):
        R.load('nope')
    with pytest.raises(ValueError, match='has 1 phase\\(s\\), not 2'):
        R.load('P20').phase(2)


# Parameters that share a setting's name but describe a loaded checkpoint, not a run: exempt.
_EXEMPT = {('core/runtime/model_io.py', 'with_landmark')}


def _classes():
    """Each settings class and the one file that holds its defaults."""
    from core.recipes import cascade_settings as C, pipeline_recipe as P
    home = lambda m: os.path.relpath(m.__file__, REPO)  # noqa: E731
    return [(R.Phase, home(R)), (R.StageRecipe, home(R)), (C.CascadeSettings, home(C)),
            (P.DataSettings, home(P)), (P.StagePlan, home(P)), (P.ExtraFaces, home(P))]


# the settings whose defaults the command-line tools also state (the pipeline passes them to the data tools)
_TOOL_SETTINGS = {'thresh', 'min_face', 'factor', 'onet_passes', 'base_num', 'prob_thresh', 'dev_fraction', 'dev_seed',
                  'train_fraction', 'lr', 'lr_epoch', 'end_epoch', 'batch_size'}


def _files():
    core = glob.glob(os.path.join(REPO, 'core', '**', '*.py'), recursive=True)
    tools = glob.glob(os.path.join(REPO, 'tools', '*.py')) + glob.glob(os.path.join(REPO, 'prepare_data', '*.py'))
    top = [os.path.join(REPO, n) for n in os.listdir(REPO) if n.endswith('.py')]
    return [(p, None) for p in sorted(core + top)] + [(p, _TOOL_SETTINGS) for p in sorted(tools)]


def _same(v, default):
    if isinstance(default, tuple):
        return isinstance(v, tuple) and len(v) == len(default) and tuple(map(float, v)) == tuple(map(float, default))
    if isinstance(default, bool) or isinstance(v, bool):
        return v is default
    if isinstance(default, (int, float)) and isinstance(v, (int, float)):
        return float(v) == float(default)
    return v == default


def _literal_defaults():
    """(file, line, field, text) of every place outside a settings class's home where a setting's name is
    bound to its own default value: a keyword default, an assignment, a quoted key with the value
    (``get('seed', 0)``, ``{'seed': 0}``), a flag's ``default=`` (``'--min_face', default=20``)."""
    value = r"""\s*(\([^()]*\)|'[^']*'|"[^"]*"|[-+\w.]+)"""
    out = []
    for cls, home in _classes():
        for f in dataclasses.fields(cls):
            if f.default in (None, '', ()) or f.name in ('phases', 'train') or 'doc' not in f.metadata:
                continue
            pat = re.compile(r"""(?:\b%s\s*(?<![=!<>])=(?!=)|['"]%s['"]\s*[,:])%s|['"]--%s['"][^#]*\bdefault=%s"""
                             % (f.name, f.name, value, f.name, value))
            for path, names in _files():
                rel = os.path.relpath(path, REPO)
                if rel == home or (rel, f.name) in _EXEMPT or (names is not None and f.name not in names):
                    continue
                for i, line in enumerate(open(path), 1):
                    for m in pat.finditer(line):
                        text = m.group(1) or m.group(2)
                        if text.startswith('(') and ',' in text:
                            text = text.rstrip(')') + ',)' if text.count(',') == 0 else text
                        try:
                            v = ast.literal_eval(text)
                        except (ValueError, SyntaxError):
                            continue
                        if _same(v, f.default):
                            out.append((rel, i, f.name, line.strip()))
    return out


def test_every_setting_has_one_default():
    """Training, pipeline and detector settings: each default is written once, in its settings class."""
    assert _literal_defaults() == []
    # the checker finds what it must: a second default written into a function, a flag or a call
    path = os.path.join(REPO, 'core', '_planted.py')
    try:
        with open(path, 'w') as f:
            f.write("def f(x, frequent=100, lr_epoch=(8, 14), thresh=(0.5, 0.5, 0.7)):\n"
                    "    return x.get('optimizer', 'sgd'), dict(factor=0.709)\n")
        with open(os.path.join(REPO, 'tools', '_planted.py'), 'w') as f:
            f.write("ap.add_argument('--min_face', type=float, default=20)\nseed = 0\n")
        assert {(h[0], h[2]) for h in _literal_defaults()} == {('core/_planted.py', n) for n in (
            'frequent', 'lr_epoch', 'optimizer', 'thresh', 'factor')} | {('tools/_planted.py', 'min_face')}
    finally:
        os.remove(path)
        os.remove(os.path.join(REPO, 'tools', '_planted.py'))
    # and config.py holds no training switch any more
    from config import config
    assert not {f.name for f in dataclasses.fields(R.StageRecipe)} & set(config)


def _help(script):
    r = subprocess.run([sys.executable, script, '--help'], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return ' '.join(r.stdout.split())


def test_trainer_flags_are_the_recipe_fields():
    import cli
    for script, (kind, _, name) in cli.SCRIPT_KINDS.items():
        ap = cli.training_parser('doc', script)
        flags = {s for a in ap._actions for s in a.option_strings}
        for cls in (R.StageRecipe, R.Phase, R.RunOptions):
            for f in R.fields(cls, kind):
                assert '--' + f.name in flags, (script, f.name)
                if R.F.kind(f.type)[0] is bool:
                    assert '--no_' + f.name in flags, (script, f.name)
        assert ('--framing' in flags) == (kind == 'lnet') and ('--with_landmark' in flags) == (kind == 'onet')
    text = _help('train_R.py')
    assert '--lr LR learning rate (losses are means over a batch) (default: 0.003)' in text  # R.json's phase 1
    assert '--lr_epoch LR_EPOCH epochs where lr is multiplied by 0.1 (default: 8,14,100)' in text
    assert '--ohem online hard example mining' in text and '(default: on; --no_ohem turns it off)' in text
    assert '--offline' not in text and '--thread_num' in text  # the original's spelling of --workers


def test_a_recipe_file_and_flags_make_the_run(tmp_path):
    import cli
    (tmp_path / 'mine.json').write_text(json.dumps({'_base_': os.path.join(R.RECIPE_DIR, 'R.json'), 'seed': 5,
                                                    'enable_gray': False, 'phases': [{'lr': 0.5}, {'lr': 0.05}]}))
    lst = tmp_path / 'list.txt'
    lst.write_text('')
    ap = cli.training_parser('doc', 'train_R.py')
    args = ap.parse_args(['--recipe', str(tmp_path / 'mine.json'), '--phase', '2', '--image_set', str(lst),
                          '--batch_size', '64', '--no_ohem', '--workers', '0', '--begin_epoch', 'last'])
    recipe, phase, run, begin = cli.training_run(args, 'train_R.py')
    assert (phase, begin, run.workers) == (2, 'last', 0)
    assert (recipe.seed, recipe.enable_gray, recipe.ohem, recipe.image_set) == (5, False, False, str(lst))
    assert recipe.phases[0] == R.Phase(lr=0.5)  # flags change the phase that runs, not the others
    assert (recipe.phases[1].lr, recipe.phases[1].batch_size) == (0.05, 64)
    assert recipe.prefix == os.path.join(cli.config.root, 'model', 'rnet')  # a recipe's prefix: under the root
    with pytest.raises(ValueError, match='recipe P20 is for train_P20.py, not train_R.py'):
        cli.training_run(ap.parse_args(['--recipe', 'P20']), 'train_R.py')
    r = subprocess.run([sys.executable, 'train_R.py', '--image_set', str(lst), '--lr', 'abc'], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode == 2 and "error: command line: lr='abc' is not a number" in r.stderr, r.stderr
    r = subprocess.run([sys.executable, 'train_R.py', '--image_set', str(lst), '--batch_size', '0'], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode == 2 and 'error: command line: batch_size=0 must be at least 1' in r.stderr, r.stderr


def test_a_later_phase_says_where_it_starts(tmp_path):
    from test_train import _tiny_data
    lst = _tiny_data(tmp_path)
    common = [sys.executable, 'train_P20.py', '--recipe', 'P20_hard', '--network', 'Pnet20_v1', '--image_set', lst,
              '--prefix', str(tmp_path / 'm' / 'p'), '--batch_size', '64', '--frequent', '1000', '--quiet',
              '--workers', '0']

    def run(*extra):
        r = subprocess.run(common + list(extra), cwd=REPO, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-2000:]
        return r.stderr
    run('--end_epoch', '1')
    log = run('--phase', '2', '--end_epoch', '2')
    assert 'phase 2 of 2: the weights of epoch 1 and a fresh SGD at lr 1e-05 (the phase says fresh_optimizer)' in log
    log = run('--phase', '2', '--end_epoch', '3')  # a rerun inside the phase continues its own optimizer
    assert 'optimizer: continuing the optimizer of epoch 2' in log and 'phase 2 of 2' not in log


def test_the_pipeline_follows_the_training_recipe_files(tmp_path, monkeypatch):
    from core.common.stage_runner import stage_key
    from core.recipes.pipeline_recipe import load_recipe, stages

    def keys():
        prev, out = '', {}
        for s in stages(str(tmp_path), load_recipe(None), str(tmp_path)):
            prev = out[s.name] = stage_key(s.name, s.argv, prev, s.fingerprint)
        return out
    before = keys()
    copy = tmp_path / 'train'
    shutil.copytree(R.RECIPE_DIR, copy)
    monkeypatch.setattr(R, 'RECIPE_DIR', str(copy))
    assert keys() == before
    data = json.loads((copy / 'R.json').read_text())
    (copy / 'R.json').write_text(json.dumps(dict(data, val_ratio=0.05)))  # read by train_R.py, not on its command line
    after = keys()
    assert after['p_train'] == before['p_train'] and after['r_hard'] == before['r_hard']
    assert after['r_train'] != before['r_train'] and after['o_train'] != before['o_train']


def test_hard_teacher_share_ranks_a_taught_stage_s_mined_negatives(tmp_path):
    from core.common.errors import SettingError
    from core.recipes.pipeline_recipe import RECIPES, load_recipe, stages
    distill = os.path.join(RECIPES, 'distill.json')

    def argv(name, recipe):
        return next(s.argv for s in stages(str(tmp_path), recipe, str(tmp_path)) if s.name == name)
    plain = load_recipe(distill)
    ranked = load_recipe(distill, ['o.hard_teacher_share=0.5'])
    assert '--hard_teacher' not in argv('o_list', plain)
    o_list = argv('o_list', ranked)
    assert o_list[o_list.index('--hard_teacher') + 1:o_list.index('--hard_teacher') + 4] == [
        'caffe', '--hard_teacher_share', '0.5']
    assert argv('r_list', ranked) == argv('r_list', plain) and argv('p_list_hard', ranked) == argv('p_list_hard', plain)
    with pytest.raises(SettingError, match=r'r.hard_teacher_share .*set r.train.teacher'):
        load_recipe(None, ['r.hard_teacher_share=0.5'])  # no teacher to rank with
    with pytest.raises(SettingError, match='does not apply to stage p'):
        load_recipe(distill, ['p.hard_teacher_share=0.5'])  # the first Pnet mines nothing
