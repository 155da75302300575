"""Every network variant: registry, output shapes, original layer names, FLOP/param counts."""
import json

import numpy as np
import pytest

import symbols
from symbols.op_count import model_stats
from conftest import shared_path

# The README FLOP table recounted under its own rule (fma counted once, after merging BN; 2^20 units), and
# the parameter counts.
SPEC_COUNTS = {
    ('Pnet20_v00', None): (9.88, 1434), ('Pnet20_v0', None): (14.10, 1514),
    ('Pnet20_v1', None): (18.32, 1482), ('Pnet20_v2', None): (22.90, 2162),
    ('Pnet20_v3', None): (32.37, 2538), ('Pnet20_v4', None): (55.83, 5890),
    ('Pnet20_v5', None): (83.86, 5626), ('Pnet20_v6', None): (92.43, 7794),
    ('Pnet20_v7', None): (102.11, 9762), ('Pnet20_v8', None): (125.17, 15442),
    ('Pnet20_s2v1', None): (63.22, 3090), ('Pnet20_s2v2', None): (107.46, 5698),
    ('Pnet20_s2v3', None): (169.17, 8746), ('Pnet16_v0', None): (8.60, 1498),
    ('Pnet16_v1', None): (12.24, 1394), ('Rnet_v1', None): (0.59, 15762),
    ('Rnet_v2', None): (1.56, 21970), ('Onet_v1', None): (2.39, 20690),
    ('Onet_v2', None): (3.59, 56114), ('Onet_v3', None): (9.34, 67858),
    ('Lnet_v1', 16): (3.80, 55934), ('Lnet_v1', 32): (11.51, 209630),
    ('Lnet_v2', 16): (3.80, 58110), ('Lnet_v2', 32): (11.51, 213982),
    ('Lnet_v3', 32): (7.72, 139262), ('Lnet106_v1', 32): (11.56, 261948),
    ('Lnet106_v1', 64): (38.76, 914428), ('Lnet106_v2', 32): (11.56, 266300),
    ('Lnet106_v2', 64): (38.76, 923132), ('Lnet106_v2', 128): (140.06, 3410300),
    ('Lnet106_96_v1', 32): (42.84, 271484), ('Lnet106_96_v1', 64): (140.22, 949884),
    ('Lnet106_96_v2', 16): (14.60, 87548), ('Lnet106_96_v2', 32): (42.84, 276348),
    ('Lnet106_96_v2', 64): (140.22, 959612), ('Lnet106_96_v3', 32): (18.65, 261468),
    ('Lnet106_64_v3', 32): (7.77, 191580), ('L106_Net112', None): (7.80, 336292),
    ('L106_Net112_s', None): (5.76, 321044), ('L106_Net96', None): (5.76, 283044),
    ('L106_Net80', None): (4.03, 237988), ('L106_Net64', None): (2.61, 201124),
    ('L106_Net112_big', None): (652.25, 16664828),
}

README_NETS = ['Pnet20_v00', 'Pnet20_v0', 'Pnet20_v1', 'Pnet20_v2', 'Pnet20_v3', 'Pnet20_v4',
               'Pnet20_v5', 'Pnet20_v6', 'Pnet20_v7', 'Pnet20_v8', 'Pnet20_s2v1', 'Pnet20_s2v2',
               'Pnet20_s2v3', 'Pnet16_v0', 'Pnet16_v1', 'Rnet_v1', 'Rnet_v2', 'Onet_v1', 'Onet_v2',
               'Onet_v3', 'Lnet_v1', 'Lnet_v2', 'Lnet_v3', 'Lnet106_v1', 'Lnet106_v2',
               'Lnet106_96_v1', 'Lnet106_96_v2', 'Lnet106_96_v3', 'Lnet106_64_v3', 'L106_Net112']


def test_registry_has_every_readme_network():
    names = symbols.list_networks()
    for n in README_NETS:
        assert n in names
    # the kind filter returns exactly the networks of that kind
    assert symbols.list_networks('pnet') == [n for n in names if symbols.network_info(n)['kind'] == 'pnet']
    assert 'Pnet20_v0' in symbols.list_networks('pnet') and 'Rnet_v1' not in symbols.list_networks('pnet')
    with pytest.raises(KeyError, match='unknown network'):
        symbols.get_symbol('Pnet99')
    # names are matched case-insensitively (the original's file names), close matches suggested
    assert symbols.canonical_name('pnet20_v1') == 'Pnet20_v1' and symbols.canonical_name('ONET-V2') == 'Onet_v2'
    with pytest.raises(KeyError, match='did you mean Pnet20_v1'):
        symbols.canonical_name('pnet21_v1')
    with pytest.raises(ValueError):
        symbols.get_symbol('Rnet_v1', with_landmark=True)
    with pytest.raises(ValueError):
        symbols.get_symbol('Rnet_v1', mode='eval')


@pytest.mark.parametrize('name', symbols.list_networks())
def test_test_mode_shapes_at_own_size(name):
    info = symbols.network_info(name)
    s = info['size']
    _, outs, _ = symbols.get_symbol(name, 'test').infer_shape(data=(2, 3, s, s))
    if info['kind'] == 'lnet':
        assert outs == [(2, 2 * info['n_points'])]
    elif info['kind'] == 'pnet':
        assert outs == [(2, 2, 1, 1), (2, 4, 1, 1)]
    else:
        assert outs == [(2, 2), (2, 4)]


@pytest.mark.parametrize('name', symbols.list_networks('pnet'))
def test_pnet_maps_at_320x240(name):
    info = symbols.network_info(name)
    _, outs, _ = symbols.get_symbol(name).infer_shape(data=(1, 3, 240, 320))
    cell, stride = info['cell'], info['stride']
    h, w = (240 - cell) // stride + 1, (320 - cell) // stride + 1
    assert outs == [(1, 2, h, w), (1, 4, h, w)]
    expected_stride = 2 if '_s2' in name else 4
    assert stride == expected_stride


def test_softmax_sums_to_one_and_train_mode_outputs():
    import mxnet as mx
    sym = symbols.get_symbol('Pnet20_v1', 'test')
    arg_shapes, _, aux_shapes = sym.infer_shape(data=(1, 3, 40, 40))
    args = {n: mx.nd.random.normal(shape=s) for n, s in zip(sym.list_arguments(), arg_shapes)}
    aux = {n: mx.nd.ones(s) for n, s in zip(sym.list_auxiliary_states(), aux_shapes)}
    ex = sym.bind(mx.cpu(), args, aux_states=aux, grad_req='null')
    prob = ex.forward()[0].asnumpy()
    np.testing.assert_allclose(prob.sum(axis=1), 1.0, rtol=1e-5)
    _, outs, _ = symbols.get_symbol('Pnet20_v1', 'train').infer_shape(data=(8, 3, 20, 20))
    assert outs == [(8, 2), (8, 4)]
    _, outs, _ = symbols.get_symbol('Onet_v2', 'train', with_landmark=True).infer_shape(data=(8, 3, 48, 48))
    assert outs == [(8, 2), (8, 4), (8, 10)]


@pytest.mark.parametrize('key', sorted(SPEC_COUNTS, key=str))
def test_flops_and_params_match_spec(key):
    name, basenum = key
    mflops, params, _ = model_stats(name, basenum=basenum)
    want_m, want_p = SPEC_COUNTS[key]
    assert abs(mflops - want_m) <= 0.0051, (mflops, want_m)
    assert params == want_p


def test_onet_with_landmark_count():
    mflops, _, _ = model_stats('Onet_v1', with_landmark=True)
    assert abs(mflops - 5.02) < 0.0051


def test_pnet_at_1920x1080_new_rule():
    # Pnet20_v0 at 1920x1080 under the same rule gives 395.09 (the README's sentence still uses an older rule).
    mflops, _, _ = model_stats('Pnet20_v0', 1920, 1080)
    assert abs(mflops - 395.09) < 0.0051


def test_basenum_scales_widths():
    a = symbols.get_symbol('Lnet_v1', basenum=16)
    shapes = dict(zip(a.list_arguments(), a.infer_shape(data=(1, 3, 48, 48))[0]))
    assert shapes['conv1_weight'] == (16, 3, 3, 3)
    assert shapes['conv9_sep_weight'] == (128, 128, 1, 1)
    assert shapes['conv6_3_weight'] == (10, 128)


@pytest.mark.parametrize('prefix,network', [('pnet20_v1', 'Pnet20_v0'), ('rnet_v1', 'Rnet_v1'),
                                            ('onet_v1', 'Onet_v1'), ('lnet106_112', 'L106_Net112')])
def test_parameter_names_match_original_json(prefix, network):
    path = shared_path('models', 'train-mtcnn', prefix + '-symbol.json')
    with open(path) as f:
        graph = json.load(f)
    orig = {n['name'] for n in graph['nodes'] if n['op'] == 'null'}
    orig -= {'data', 'label', 'bbox_target', 'landmark_target', 'type_label'}
    sym = symbols.get_symbol(network, 'test')
    ours = set(sym.list_arguments()) | set(sym.list_auxiliary_states())
    ours.discard('data')
    # the original JSON lists only moving_mean/var under BatchNorm inputs as well
    assert ours == orig
