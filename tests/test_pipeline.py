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
    for (n, argv_a, _), (_, argv_b, _) in zip(a, b):
        prev_a = ka[n] = pl._key(n, argv_a, prev_a)
        prev_b = kb[n] = pl._key(n, argv_b, prev_b)
    assert ka['p_data'] == kb['p_data'] and ka['p_train'] != kb['p_train'] and ka['eval'] != kb['eval']


def test_failed_stage_stops_with_its_log(tmp_path, monkeypatch):
    def stages(run, cfg, wider_root):
        return [('bad', [sys.executable, '-c', 'import sys; sys.exit(3)'], [os.path.join(run, 'x')])]
    monkeypatch.setattr(pl, 'stages', stages)
    with pytest.raises(SystemExit, match='stage bad failed'):
        pl.run_pipeline(str(tmp_path / 'r'), str(tmp_path), {}, log=lambda *a: None)
    man = json.load(open(str(tmp_path / 'r' / 'manifest.json')))
    assert man['stages']['bad']['status'] == 'failed'
