"""Pipeline runner: manifest, skipping finished stages, redoing changed ones, --from / --only."""
import json
import os
import sys

import pytest

from tools import pipeline as pl


def _fake_stages(counter_file):
    def stages(run, cfg, wider_root):
        out = []
        for name in ('a', 'b', 'c'):
            target = os.path.join(run, name + '.txt')
            code = ("import sys; open(%r, 'a').write(%r); open(%r, 'w').write(%r)"
                    % (counter_file, name, target, str(cfg.get(name, 0))))
            out.append((name, [sys.executable, '-c', code], [target]))
        return out
    return stages


def test_skip_redo_from_only(tmp_path, monkeypatch):
    counter = str(tmp_path / 'calls')
    monkeypatch.setattr(pl, 'stages', _fake_stages(counter))
    run = str(tmp_path / 'run')
    quiet = lambda *a: None  # noqa: E731
    pl.run_pipeline(run, str(tmp_path), {'a': 1, 'b': 1, 'c': 1}, log=quiet)
    assert open(counter).read() == 'abc'
    pl.run_pipeline(run, str(tmp_path), {'a': 1, 'b': 1, 'c': 1}, log=quiet)
    assert open(counter).read() == 'abc'  # everything up to date
    os.remove(os.path.join(run, 'b.txt'))  # a lost output is redone, and so is what follows
    pl.run_pipeline(run, str(tmp_path), {'a': 1, 'b': 1, 'c': 1}, log=quiet)
    assert open(counter).read() == 'abcb'
    pl.run_pipeline(run, str(tmp_path), {'a': 1, 'b': 1, 'c': 1}, start='b', log=quiet)
    assert open(counter).read() == 'abcbbc'
    pl.run_pipeline(run, str(tmp_path), {'a': 1, 'b': 1, 'c': 1}, only='a', log=quiet)
    assert open(counter).read() == 'abcbbca'
    man = json.load(open(os.path.join(run, 'manifest.json')))
    assert set(man['stages']) == {'a', 'b', 'c'} and all(s['status'] == 'done' for s in man['stages'].values())
    with pytest.raises(SystemExit, match='unknown stage'):
        pl.run_pipeline(run, str(tmp_path), {}, only='zzz', log=quiet)


def test_changed_settings_change_the_stage_keys(tmp_path):
    a = pl.stages(str(tmp_path), dict(pl.DEFAULTS), str(tmp_path))
    cfg = dict(pl.DEFAULTS, p_epochs=3)
    b = pl.stages(str(tmp_path), cfg, str(tmp_path))
    ka, kb, prev_a, prev_b = {}, {}, '', ''
    for (n, argv_a, *_), (_, argv_b, *_) in zip(a, b):
        prev_a = ka[n] = pl._key(n, argv_a, prev_a)
        prev_b = kb[n] = pl._key(n, argv_b, prev_b)
    assert ka['p_data'] == kb['p_data'] and ka['p_train'] != kb['p_train'] and ka['eval'] != kb['eval']


def test_failed_stage_stops_with_its_log(tmp_path, monkeypatch):
    def stages(run, cfg, wider_root):  # noqa: F811
        return [('bad', [sys.executable, '-c', 'import sys; sys.exit(3)'], [os.path.join(run, 'x')])]
    monkeypatch.setattr(pl, 'stages', stages)
    with pytest.raises(SystemExit, match='stage bad failed'):
        pl.run_pipeline(str(tmp_path / 'r'), str(tmp_path), {}, log=lambda *a: None)
    man = json.load(open(str(tmp_path / 'r' / 'manifest.json')))
    assert man['stages']['bad']['status'] == 'failed'


def _pipeline_cmd(run, root):
    # the real stages up to the first training, tiny settings, on the embedded demo set
    code = ('import sys; sys.argv[0] = "pipeline"; from tools import pipeline as pl; real = pl.stages; '
            'pl.stages = lambda *a: real(*a)[:4]; '
            'sys.exit(pl.main(sys.argv[1:]))')
    return [sys.executable, '-c', code, '--run', run, '--wider_root', root, '--set', 'limit_images=60',
            '--set', 'p_epochs=4', '--set', 'p_lr_epoch=3', '--set', 'p_batch=64', '--set', 'workers=1',
            '--set', 'p_lr=0.02']


def test_interrupted_stage_resumes_to_the_same_result(tmp_path):
    import signal
    import subprocess
    import time
    from conftest import REPO
    from core.model_io import load_params
    from prepare_data.demo_set import make_demo_set
    root = str(tmp_path / 'demo')
    make_demo_set(root, seed=0)
    ref, cut = str(tmp_path / 'ref'), str(tmp_path / 'cut')
    r = subprocess.run(_pipeline_cmd(ref, root), cwd=REPO, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    proc = subprocess.Popen(_pipeline_cmd(cut, root), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    mark = os.path.join(cut, 'model', 'pnet20-0002.states')
    t0 = time.time()
    while not os.path.exists(mark) and proc.poll() is None and time.time() - t0 < 600:
        time.sleep(0.05)
    assert proc.poll() is None, 'training finished before it could be interrupted'
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the middle of p_train (epoch 3 of 4)
    proc.communicate(timeout=120)
    assert not os.path.exists(os.path.join(cut, 'model', 'pnet20-0004.params'))
    assert json.load(open(os.path.join(cut, 'manifest.json')))['stages']['p_train']['status'] == 'running'
    r = subprocess.run(_pipeline_cmd(cut, root), cwd=REPO, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert 'p_train       resuming at epoch' in r.stdout and 'p_data        up to date' in r.stdout
    a, _ = load_params(os.path.join(ref, 'model', 'pnet20-0004.params'))
    b, _ = load_params(os.path.join(cut, 'model', 'pnet20-0004.params'))
    for k in a:
        assert (a[k].asnumpy() == b[k].asnumpy()).all(), k
