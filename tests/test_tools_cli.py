"""Command-line tools run end to end on a shipped model and report what they did."""
import os
import subprocess
import sys

from conftest import REPO, shared_path


def _run(args, **kw):
    return subprocess.run([sys.executable] + args, cwd=REPO, capture_output=True, text=True, **kw)


def test_load_merge_onnx_zqcnn_clis(tmp_path):
    base = os.path.join(shared_path('models', 'train-mtcnn'), 'rnet_v1')
    r = _run(['tools/load_model.py', '--prefix', base, '--epoch', '16'])
    assert r.returncode == 0 and 'network=Rnet_v1' in r.stdout
    r = _run(['tools/merge_bn.py', '--prefix', base, '--epoch', '16', '--out', str(tmp_path / 'm')])
    assert r.returncode == 0 and '2 BatchNorm folded' in r.stdout
    r = _run(['tools/export_onnx.py', '--prefix', str(tmp_path / 'm'), '--epoch', '16', '--out', str(tmp_path / 'r.onnx')])
    assert r.returncode == 0 and os.path.getsize(str(tmp_path / 'r.onnx')) > 1000, r.stderr[-500:]
    r = _run(['tools/export_zqcnn.py', '--prefix', base, '--epoch', '16', '--out', str(tmp_path / 'det2')])
    assert r.returncode == 0 and 'merge-BN+1e-9' in r.stdout, r.stderr[-500:]
    assert os.path.exists(str(tmp_path / 'det2.zqparams')) and os.path.exists(str(tmp_path / 'det2.nchwbin'))
    r = _run(['tools/load_model.py', '--prefix', str(tmp_path / 'none'), '--epoch', '1'])
    assert r.returncode == 2 and 'not found' in r.stderr


def test_inspect_samples_cli(tmp_path):
    from core.packed import RecordWriter, encode_raw, pack
    import numpy as np
    w = RecordWriter(str(tmp_path / 'pos'))
    for i in range(3):
        w.write(pack([1, 0.1, 0.1, -0.1, -0.1], encode_raw(np.full((20, 20, 3), 50 * i, np.uint8))))
    w.close()
    r = _run(['tools/inspect_samples.py', str(tmp_path), '--out', str(tmp_path / 'g.png')])
    assert r.returncode == 0 and 'pos' in r.stdout and os.path.exists(str(tmp_path / 'g.png'))
    r = _run(['tools/inspect_samples.py', str(tmp_path / 'empty')])
    assert r.returncode == 2
