"""Deployment exports: merged BatchNorm and ONNX for every registered variant."""
import os

import numpy as np
import pytest

import symbols
import mxnet as mx
from core.runtime.model_io import InferenceModel, load_model
from core.export.onnx_export import export_onnx
from core.runtime.onnx_runtime import OnnxModel
from core.export.onnx_export import parity
from core.export.bn_fold import count_layers, merge_bn
from symbols.op_count import count_ops
from conftest import random_model, shared_path


VARIANTS = [(n, False) for n in symbols.list_networks()] + \
    [('Onet_v1', True), ('Onet_v3', True)]


@pytest.mark.parametrize('name,lm', VARIANTS)
def test_onnx_parity_every_variant(name, lm, tmp_path):
    model = random_model(name, lm)
    path = export_onnx(model, str(tmp_path / (name + '.onnx')))
    assert parity(model, OnnxModel(path, name, threads=1)) < 1e-4


@pytest.mark.parametrize('name,lm', [('Pnet20_v1', False), ('Rnet_v1', False), ('Onet_v1', True),
                                     ('L106_Net64', False)])
def test_onnx_fast_prelu_same_outputs(name, lm, tmp_path):
    import onnx
    model = random_model(name, lm, seed=4)
    path = export_onnx(model, str(tmp_path / (name + '.onnx')), fast_prelu=True)
    ops = {n.op_type for n in onnx.load(path).graph.node}
    assert 'PRelu' not in ops and 'Relu' in ops
    assert parity(model, OnnxModel(path, name, threads=1)) < 1e-4


PNETS = [n for n in symbols.list_networks() if symbols.network_info(n)['kind'] == 'pnet']


@pytest.mark.parametrize('name', PNETS + ['Rnet_v1', 'Onet_v1', 'Lnet_v2'])
def test_onnx_runtime_rewrites_same_outputs(name):
    """What ONNX Runtime runs (paired PReLUs and a Sigmoid for the Pnets, folded ones for the crop
    nets) computes the plain graph's outputs."""
    from core.export.onnx_export import onnx_proto, runtime_rewrites
    model = random_model(name, name == 'Onet_v1', seed=5)
    proto = onnx_proto(model, **runtime_rewrites(model.info['kind']))
    ops = [n.op_type for n in proto.graph.node]
    assert 'PRelu' not in ops
    if model.info['kind'] == 'pnet':
        assert 'Softmax' not in ops and 'Sigmoid' in ops
    assert parity(model, OnnxModel(proto.SerializeToString(), name, threads=1)) < 1e-5


@pytest.mark.parametrize('name', ['Pnet20_v1', 'Rnet_v1', 'Onet_v3'])
def test_pair_prelu_keeps_outputs_and_leaves_only_convolutions(name):
    """The signed-pair rewrite alone, on nets with every case: a PReLU after a full and after a
    depthwise convolution, a depthwise convolution not followed by a PReLU (Onet_v3: halves summed by
    their own 1x1), a PReLU before a fully connected layer (left as it is)."""
    from core.export.onnx_export import onnx_proto, pair_prelu
    model = random_model(name, False, seed=6)
    plain = onnx_proto(model)
    proto = pair_prelu(onnx_proto(model))
    prelus = [n for n in proto.graph.node if n.op_type == 'PRelu']
    assert len(prelus) < sum(n.op_type == 'PRelu' for n in plain.graph.node)
    consumers = {i: n for n in proto.graph.node for i in n.input}
    assert all(consumers[p.output[0]].op_type != 'Conv' for p in prelus)
    if name == 'Onet_v3':
        assert any(n.name.endswith('_sum') for n in proto.graph.node)
    assert parity(model, OnnxModel(proto.SerializeToString(), name, threads=1)) < 1e-5


def test_sigmoid_softmax_is_the_two_class_softmax():
    from core.export.onnx_export import onnx_proto, sigmoid_softmax
    model = random_model('Pnet20_v2', False, seed=7)
    proto = sigmoid_softmax(onnx_proto(model))
    assert [n.op_type for n in proto.graph.node].count('Sigmoid') == 1
    assert not {'Softmax', 'Div'} & {n.op_type for n in proto.graph.node}
    x = np.random.RandomState(8).uniform(-1, 1, (1, 3, 57, 83)).astype(np.float32)
    prob = OnnxModel(proto.SerializeToString(), 'Pnet20_v2', threads=1)(x)[0]
    assert np.allclose(prob.sum(1), 1, atol=1e-6)
    assert np.abs(prob - model(x)[0]).max() < 1e-6


@pytest.mark.parametrize('name,lm', [('Onet_v3', False), ('Lnet106_96_v2', False), ('Onet_v2', True),
                                     ('L106_Net64', False), ('Pnet20_v1', False)])
def test_merge_bn_identical_outputs_fewer_layers(name, lm):
    model = random_model(name, lm, seed=1)
    sym, arg, aux = merge_bn(model.sym, model.arg, model.aux)
    assert count_layers(sym, 'BatchNorm') == 0
    assert count_layers(sym) < count_layers(model.sym)
    size = model.info['size']
    x = np.random.RandomState(2).uniform(-1, 1, (2, 3, size, size)).astype(np.float32)
    for a, b in zip(model(x), InferenceModel(sym, arg, aux)(x)):
        assert np.abs(a - b).max() < 1e-4
    cls_only = model.info['kind'] == 'pnet'
    shape = (1, 3, size, size)
    assert abs(count_ops(sym, shape, cls_only) - count_ops(model.sym, shape, cls_only)) < 1e-6


def test_merge_bn_shipped_lnet106_and_reload(tmp_path):
    from core.runtime.model_io import save_checkpoint
    base = os.path.join(shared_path('models', 'train-mtcnn'), 'lnet106_112')
    model = load_model(base, 4070)
    sym, arg, aux = merge_bn(model.sym, model.arg, model.aux)
    save_checkpoint(str(tmp_path / 'm'), 1, sym, arg, aux, network=model.network, custom_graph=True)
    merged = load_model(str(tmp_path / 'm'), 1)
    x = np.random.RandomState(0).uniform(-1, 1, (2, 3, 112, 112)).astype(np.float32)
    assert np.abs(model(x)[0] - merged(x)[0]).max() < 1e-4
    assert count_layers(merged.sym) == count_layers(model.sym) - 38


def test_flops_tool_counts_a_merged_checkpoint(tmp_path):
    import subprocess
    import sys
    from core.runtime.model_io import save_checkpoint
    from conftest import REPO
    model = random_model('Onet_v3', seed=3)
    sym, arg, aux = merge_bn(model.sym, model.arg, model.aux)
    save_checkpoint(str(tmp_path / 'o'), 2, sym, arg, aux, network='Onet_v3', custom_graph=True)
    out = subprocess.run([sys.executable, 'tools/flops.py', '--prefix', str(tmp_path / 'o'), '--epoch', '2',
                          '--format', 'tsv'], cwd=REPO, capture_output=True, text=True, check=True).stdout
    name, size, mflops, params = out.strip().split('\t')
    assert size == '48x48' and abs(float(mflops) - 9.34) < 0.01
    assert int(params) < 67858  # BN gamma/beta folded away


BLOCKER = '''import runpy, sys
BLOCKED = ('mxnet', 'easydict', 'config', 'symbols', 'cli', 'scipy', 'onnx', 'tqdm')
class Block:
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in BLOCKED:
            raise ImportError('blocked import of %s' % name)
sys.meta_path.insert(0, Block())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


def test_cascade_folder_runs_without_mxnet_and_gives_demo_boxes(tmp_path):
    """tools/export_onnx.py --cascade, then tools/detect_onnx.py with MXNet, easydict, config and onnx
    unimportable: the boxes of demo.py (ONNX backend, same models and settings)."""
    import json
    import subprocess
    import sys
    from conftest import REPO, shared_path
    img = shared_path('images', '4.jpg')
    run = lambda *a: subprocess.run([sys.executable] + list(a), cwd=REPO, capture_output=True, text=True)  # noqa: E731
    out = str(tmp_path / 'cascade')
    r = run('tools/export_onnx.py', '--cascade', '--out', out, '--opset', '11')
    assert r.returncode == 0, r.stderr[-2000:]
    card = json.load(open(os.path.join(out, 'cascade.json')))
    assert card['preprocess']['formula'] == '(x - 127.5) * 0.0078125' and card['stages']['pnet']['stride'] == 4
    import onnx
    m = onnx.load(os.path.join(out, 'onet.onnx'))
    assert [o.name for o in m.graph.output][:2] == ['prob', 'bbox'] and m.opset_import[0].version == 11
    (tmp_path / 'block.py').write_text(BLOCKER)
    a, b = str(tmp_path / 'a.txt'), str(tmp_path / 'b.txt')
    r = run(str(tmp_path / 'block.py'), 'tools/detect_onnx.py', '--models', out, '--imgfile', img, '--save_dets', a,
            '--json', str(tmp_path / 'one.json'))
    assert r.returncode == 0, r.stderr[-2000:]
    r = run('demo.py', '--backend', 'onnx', '--imgfile', img, '--save_dets', b, '--out', str(tmp_path / 'v.jpg'))
    assert r.returncode == 0, r.stderr[-2000:]
    assert open(a).read() == open(b).read() and len(open(a).read().splitlines()) >= 4
    # the landmark net runs as the default models record it (mirrored crops averaged in when they say so)
    import cv2
    from core.detect.cascade import default_card, default_cascade
    assert card['lnet_flip'] == default_card().settings().lnet_flip
    points = default_cascade(backend='onnx').detect(cv2.imread(img))[2]
    got = json.load(open(tmp_path / 'one.json'))
    got = got[0] if isinstance(got, list) else got
    np.testing.assert_allclose(np.array(got['landmarks']), points, atol=0.006)
    # ZQCNN's candidate flow without MXNet as well: the boxes of demo.py --scheme zqcnn
    r = run(str(tmp_path / 'block.py'), 'tools/detect_onnx.py', '--models', out, '--imgfile', img, '--save_dets', a,
            '--scheme', 'zqcnn')
    assert r.returncode == 0, r.stderr[-2000:]
    r = run('demo.py', '--backend', 'onnx', '--scheme', 'zqcnn', '--imgfile', img, '--save_dets', b,
            '--out', str(tmp_path / 'v.jpg'))
    assert r.returncode == 0, r.stderr[-2000:]
    assert open(a).read() == open(b).read() and len(open(a).read().splitlines()) == 4
    # a folder in, JSON out
    folder = tmp_path / 'imgs'
    folder.mkdir()
    for name in ('4.jpg', 'test01.jpg'):
        (folder / name).write_bytes(open(shared_path('images', name), 'rb').read())
    r = run(str(tmp_path / 'block.py'), 'tools/detect_onnx.py', '--models', out, '--folder', str(folder),
            '--json', str(tmp_path / 'all.json'))
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.load(open(tmp_path / 'all.json'))
    assert [os.path.basename(x['image']) for x in res] == ['4.jpg', 'test01.jpg'] and len(res[0]['boxes']) >= 4
