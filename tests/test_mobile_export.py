"""NCNN and MNN exports (tools/export.py --to ncnn|mnn): each cascade run in its own runtime gives the
original's boxes on 4.jpg; blob renaming; clear messages when a converter is missing."""
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, shared_path
from core.export import mobile_export as mobile

sys.path.insert(0, os.path.join(REPO, 'tools'))
import zqcnn_parity  # noqa: E402

REFERENCE = os.path.join(REPO, 'tests', 'data', 'zqcnn_reference.txt')  # ZQCNN's C++ on the default models


def _needs(target):
    if target == 'ncnn':
        pytest.importorskip('ncnn', reason='the ncnn package is not installed (bash scripts/deploy_env.sh)')
        if importlib.util.find_spec('pnnx') is None:
            pytest.skip('pnnx is not installed (bash scripts/deploy_env.sh)')
    else:
        pytest.importorskip('MNN', reason='the MNN package is not installed (bash scripts/deploy_env.sh)')


def _run(*args):
    return subprocess.run([sys.executable] + list(args), cwd=REPO, capture_output=True, text=True)


def test_blob_renaming_touches_blobs_only():
    text = ('7767517\n3 3\nInput in0 0 1 in0\nConvolution conv_1 1 1 in0 1 0=8 1=3\n'
            'Softmax out0 1 1 1 out0 0=0\n')
    out = mobile.rename_blobs(text, {'in0': 'data', 'out0': 'prob'}).splitlines()
    assert out[:2] == ['7767517', '3 3']
    assert out[2] == 'Input in0 0 1 data'  # the layer keeps its name, its blob is renamed
    assert out[3] == 'Convolution conv_1 1 1 data 1 0=8 1=3'
    assert out[4] == 'Softmax out0 1 1 1 prob 0=0'


def test_missing_converters_say_what_to_install(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name: None if name in ('pnnx', 'MNN') else real(name))
    with pytest.raises(mobile.ConverterError, match='pip install --no-deps pnnx'):
        mobile.pnnx_binary()
    with pytest.raises(mobile.ConverterError, match='pip install MNN'):
        mobile.onnx_to_mnn(str(tmp_path / 'x.onnx'), str(tmp_path / 'x.mnn'))


@pytest.mark.parametrize('target', ['ncnn', 'mnn'])
def test_exported_cascade_gives_the_reference_boxes_in_its_runtime(target, tmp_path):
    """The original's shipped models exported for ``target`` and run by tools/detect_onnx.py in that
    runtime: the 4 reference boxes of 4.jpg within 1 px (original scheme), and with --scheme zqcnn the
    default models give ZQCNN's C++ boxes exactly."""
    _needs(target)
    base = shared_path('models', 'train-mtcnn')
    img = shared_path('images', '4.jpg')
    ref = np.loadtxt(shared_path('reference', 'train-mtcnn-4jpg-dets.txt'), comments='#')
    out = str(tmp_path / target)
    prefixes = ','.join(os.path.join(base, p) for p in ('pnet20_v1', 'rnet_v1', 'onet_v1'))
    r = _run('tools/export.py', '--to', target, '--out', out, '--prefix', prefixes, '--epoch', '16,16,16',
             '--thresh', '0.5,0.5,0.7')
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    card = json.load(open(os.path.join(out, 'cascade.json')))
    assert card['runtime'] == target and card['stages']['onet']['outputs'] == ['prob', 'bbox']
    assert not [f for f in os.listdir(out) if f.endswith('.onnx') or 'pnnx' in f]  # only the runtime's files
    if target == 'ncnn':
        param = open(os.path.join(out, 'pnet.param')).read()
        words = param.split()
        assert 'Input in0 0 1 data' in param and 'prob' in words and 'bbox' in words and 'out0' not in words
        assert not any(w in open(os.path.join(out, 'onet.param')).read().lower() for w in ('loss', 'label'))
    dets = str(tmp_path / 'dets.txt')
    r = _run('tools/detect_onnx.py', '--models', out, '--imgfile', img, '--save_dets', dets, '--threads', '1')
    assert r.returncode == 0, r.stderr[-2000:]
    found = np.loadtxt(dets, ndmin=2)
    assert found.shape == ref.shape
    for row in ref:
        d = np.abs(found[:, :4] - row[:4]).max(1)
        assert d.min() <= 1.0, (row, found)
    # the default models through ZQCNN's candidate flow, in this runtime
    out2 = str(tmp_path / (target + '_default'))
    r = _run('tools/export.py', '--to', target, '--out', out2)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    r = _run('tools/detect_onnx.py', '--models', out2, '--imgfile', img, '--save_dets', dets, '--scheme', 'zqcnn')
    assert r.returncode == 0, r.stderr[-2000:]
    assert np.loadtxt(dets, ndmin=2)[:, :4].astype(int).tolist() == \
        zqcnn_parity.reference_boxes(REFERENCE, 'default', 'images/4.jpg')[:, :4].astype(int).tolist()
