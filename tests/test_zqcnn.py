"""ZQCNN export: format rules, and an independent numpy reader in both ZQCNN loading modes."""
import os

import numpy as np
import pytest

import symbols
from core.runtime.model_io import load_model
from core.export import zqcnn_format as zq
from core.export.zqcnn_export import export_zqcnn, verify
from conftest import random_model, shared_path

VARIANTS = [(n, False) for n in symbols.list_networks() if n != 'L106_Net112_big'] + [('Onet_v2', True)]


@pytest.mark.parametrize('name,lm', VARIANTS)
def test_every_variant_matches_in_both_loading_modes(name, lm, tmp_path):
    model = random_model(name, lm)
    out = str(tmp_path / name)
    export_zqcnn(model, out, calib_images=[])
    diffs = verify(model, out)
    assert diffs['plain'] < 1e-4 and diffs['mtcnn'] < 1e-4, diffs


def test_file_format_rules(tmp_path):
    model = random_model('Pnet20_v3')
    out = str(tmp_path / 'p')
    export_zqcnn(model, out, calib_images=[])
    raw = open(out + '.zqparams', 'rb').read()
    assert b'\r' not in raw
    lines = raw.decode().strip().split('\n')
    assert lines[0] == 'Input name=data C=3 H=20 W=20'
    kinds = [ln.split()[0] for ln in lines]
    assert 'Reshape' not in kinds and not any('label' in ln or 'loss' in ln for ln in lines)
    assert 'Pooling' in kinds and 'DepthwiseConvolution' in kinds
    assert any(ln.startswith('Softmax') and 'top=prob1' in ln for ln in lines)
    assert any('top=conv4-2' in ln for ln in lines)
    bn = [ln for ln in lines if ln.startswith('BatchNormScale')]
    assert bn and all('eps' not in ln for ln in bn)  # eps folded into the variance
    layers = zq.parse(out + '.zqparams')
    bound, used, total = zq.bind(layers, out + '.nchwbin', (1, 3, 20, 20))
    assert used == total


def test_shipped_pnet_needs_rescaling_for_zqcnn(tmp_path):
    base = os.path.join(shared_path('models', 'train-mtcnn'), 'pnet20_v1')
    model = load_model(base, 16)
    raw = str(tmp_path / 'raw')
    export_zqcnn(model, raw, rescale=False)
    d = verify(model, raw)
    assert d['plain'] < 1e-4 and d['mtcnn'] > 1e-2  # the documented pitfall: classifier zeroed
    fixed = str(tmp_path / 'fixed')
    scales = export_zqcnn(model, fixed)
    d = verify(model, fixed)
    assert d['plain'] < 1e-4 and d['mtcnn'] < 1e-4
    assert max(scales.values()) > 1e9  # activations of ~5e10 were rescaled


def test_reader_rejects_crlf_and_short_weights(tmp_path):
    p = tmp_path / 'x.zqparams'
    p.write_bytes(b'Input name=data C=3\r\n')
    with pytest.raises(ValueError, match='CRLF'):
        zq.parse(str(p))
    p.write_text('Input name=data C=3\nConvolution name=c bottom=data top=c num_output=2 kernel_size=3 bias\n')
    b = tmp_path / 'x.nchwbin'
    np.zeros(5, '<f4').tofile(str(b))
    with pytest.raises(ValueError, match='ran out of weights'):
        zq.bind(zq.parse(str(p)), str(b), (1, 3, 8, 8))
