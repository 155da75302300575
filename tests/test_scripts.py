"""scripts/*.sh: every script answers --help with its environment variables and its tool's flags, and
the original's .bat chain runs script after script with no edits (data and models under MTCNN_ROOT)."""
import glob
import os
import subprocess

import pytest

from conftest import REPO, shared_path

SCRIPTS = sorted(os.path.basename(p) for p in glob.glob(os.path.join(REPO, 'scripts', '*.sh')))
NO_HELP = {'env.sh', 'test.sh', 'quickstart.sh'}  # sourced, or run the test suite / the main job


def _bash(script, *args, env=None, timeout=600):
    return subprocess.run(['bash', os.path.join('scripts', script)] + list(args), cwd=REPO, capture_output=True,
                          text=True, env=dict(os.environ, **(env or {})), timeout=timeout)


@pytest.mark.parametrize('script', [s for s in SCRIPTS if s not in NO_HELP])
def test_every_script_says_what_it_does(script):
    r = _bash(script, '--help')
    assert r.returncode == 0, r.stderr[-1000:]
    head = r.stdout.split('usage:')[0]
    assert 'original' in head.lower() or 'pipeline' in head.lower(), head
    assert 'usage:' in r.stdout and '(default:' in r.stdout  # the tool's flags with their defaults


def test_the_bat_chain_runs_as_written(tmp_path):
    from prepare_data.demo_set import make_demo_set
    wider = str(tmp_path / 'WIDER')
    make_demo_set(wider, n_train=24, n_val=4, seed=0)
    env = dict(MTCNN_ROOT=str(tmp_path / 'my root'), WIDER_ROOT=wider)  # a path with a space
    steps = [('gen_anno_and_train_list.sh',), ('P20_gen_data.sh', '--workers', '1'), ('P20_gen_imglist.sh',),
             ('P20_train.sh', '--end_epoch', '1', '--lr', '0.02', '--batch_size', '64', '--workers', '0', '--quiet')]
    for step in steps:
        r = _bash(*step, env=env)
        assert r.returncode == 0, (step, r.stdout[-1000:], r.stderr[-2000:])
    model = os.path.join(env['MTCNN_ROOT'], 'model', 'pnet20')
    assert os.path.exists(model + '-0001.params')  # the stage table's prefix, under MTCNN_ROOT
    # mining with a 1-epoch Pnet, then the two-phase .bat with --end_epoch 1: phase 2 has nothing left to do
    r = _bash('P20_gen_hard_example.sh', '--workers', '1', '--min_recall', '0', env=dict(env, EPOCH='1', THRESH='0.3'))
    assert r.returncode == 0 and 'candidates/image' in r.stdout, r.stderr[-2000:]
    assert _bash('P20_gen_imglist_with_hard.sh', env=env).returncode == 0
    r = _bash('P20_train_with_hard.sh', '--end_epoch', '1', '--batch_size', '64', '--workers', '0', '--quiet', env=env)
    assert r.returncode == 0 and 'nothing to do' in r.stdout, r.stdout[-1000:] + r.stderr[-2000:]
    # the landmark chain: offline crops, then the landmark-only list the Lnet trainer reads by name
    lm = shared_path('data', 'landmarks5', 'new_training.txt')
    r = _bash('O_gen_landmark.sh', '--limit', '40', '--workers', '1', env=dict(env, LANDMARK_LIST=lm))
    assert r.returncode == 0, r.stderr[-2000:]
    lines = open(os.path.join(env['MTCNN_ROOT'], 'data', 'imglists', 'landmark.txt')).read().split()
    assert lines and all(code == '-2' for code in lines[1::2])  # landmark samples only
    r = _bash('L_train.sh', '--end_epoch', '1', '--batch_size', '16', '--workers', '0', '--quiet', env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert os.path.exists(os.path.join(env['MTCNN_ROOT'], 'model', 'lnet-0001.params'))


def test_gpu_check_without_a_gpu_says_so(tmp_path):
    fake = tmp_path / 'bin'
    fake.mkdir()
    (fake / 'nvidia-smi').write_text('#!/bin/sh\necho "NVIDIA-SMI has failed" >&2\nexit 9\n')
    (fake / 'nvidia-smi').chmod(0o755)
    r = _bash('gpu_check.sh', env=dict(PATH=str(fake) + os.pathsep + os.environ['PATH']))
    assert r.returncode == 0 and 'no NVIDIA GPU on this machine' in r.stdout, r.stdout + r.stderr


def test_gpu_check_compares_the_stages_cpu_against_cpu(tmp_path):
    import sys
    r = subprocess.run([sys.executable, 'tools/gpu_check.py', '--gpus', '', '--images', '6', '--batches', '2',
                        '--work', str(tmp_path / 'w')], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and r.stdout.strip().endswith('gpu_check=ok'), r.stdout[-2000:] + r.stderr[-2000:]
    assert r.stdout.count('largest loss difference 0.00e+00') == 3
