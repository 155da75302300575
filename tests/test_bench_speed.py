"""tools/bench_speed.py's report and tools/relu_ceiling.py (the ReLU upper bound for training speed)."""
import json
import subprocess
import sys

import symbols
from conftest import REPO
from tools import bench_speed, relu_ceiling


def _ops(sym):
    return [n['op'] for n in json.loads(sym.tojson())['nodes']]


def test_the_ceiling_replaces_training_prelus_only(monkeypatch):
    monkeypatch.setattr(symbols.layers, 'prelu', relu_ceiling.relu_in_training)
    monkeypatch.setattr(symbols.builder, 'prelu', relu_ceiling.relu_in_training)
    train = _ops(symbols.get_symbol('Rnet_v1', 'train', train_prelu='decomposed'))
    assert 'Activation' in train and 'LeakyReLU' not in train and 'minimum' not in train
    test = _ops(symbols.get_symbol('Rnet_v1', 'test'))
    assert test.count('LeakyReLU') == train.count('Activation') and 'Activation' not in test


def test_the_ceiling_runs_a_trainer_and_refuses_anything_else():
    r = subprocess.run([sys.executable, 'tools/relu_ceiling.py', 'train_R.py', '--help'], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode == 0 and '--image_set' in r.stdout
    r = subprocess.run([sys.executable, 'tools/relu_ceiling.py'], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 2 and 'usage' in r.stderr


def test_report_gives_ratios_per_round_and_the_ceiling(capsys):
    results = {'R': {'old': [100.0, 200.0, 150.0], 'new': [150.0, 400.0, 300.0]},
               'P->R': {'old': [10.0, 10.0, 10.0], 'new': [15.0, 14.0, 16.0]}}
    bench_speed.report(results, 40.0, {'R': [220.0, 420.0, 330.0]})
    out = capsys.readouterr().out
    assert 'r_ratio=2.00' in out and 'p_to_r_ratio=1.50' in out
    assert 'r_relu_ceiling_ratio=2.20' in out and '1.50 2.00 2.00' in out
