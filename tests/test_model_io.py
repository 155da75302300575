"""Loading the original's shipped checkpoints and this project's own; atomic saving."""
import os

import numpy as np
import pytest

import symbols
import mxnet as mx
from core.common.image import read_image, to_tensor
from core.runtime.model_io import (InferenceModel, ModelError, identify_network, load_model, load_params,
                           original_inference_symbol, params_path, save_checkpoint)
from conftest import shared_path

SHIPPED = [('pnet20_v1', 16, 'Pnet20_v0'), ('rnet_v1', 16, 'Rnet_v1'), ('onet_v1', 16, 'Onet_v1'),
           ('lnet106_112', 4070, 'L106_Net112')]


@pytest.mark.parametrize('prefix,epoch,network', SHIPPED)
def test_shipped_models_load_and_match_internal_outputs(prefix, epoch, network):
    base = os.path.join(shared_path('models', 'train-mtcnn'), prefix)
    model = load_model(base, epoch)
    assert model.network == network and not model.with_landmark
    ref = InferenceModel(original_inference_symbol(base + '-symbol.json'),
                         *load_params(params_path(base, epoch)))
    size = model.info['size']
    shape = (1, 3, 240, 320) if model.info['kind'] == 'pnet' else (5, 3, size, size)
    x = np.random.RandomState(1).uniform(-1, 1, shape).astype(np.float32)
    ours, theirs = model(x), ref(x)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        assert np.abs(a - b).max() < 1e-5
    # the cached executor gives the same answer on a second forward (oneDNN bug avoided)
    for a, b in zip(model(x), ours):
        assert np.array_equal(a, b)


def test_lnet106_on_00jpg_matches_reference():
    base = os.path.join(shared_path('models', 'train-mtcnn'), 'lnet106_112')
    img = read_image(shared_path('images', '00_.jpg'))
    ref = np.loadtxt(shared_path('reference', 'train-mtcnn-lnet106-00jpg.txt'), comments='#')
    model = load_model(base, 4070)
    pts = model(to_tensor(img))[0].reshape(-1, 2)
    assert pts.shape == ref.shape == (106, 2)
    assert np.abs(pts - ref).max() < 1e-4


def _random_params(sym, size):
    arg_shapes, _, aux_shapes = sym.infer_shape(data=(1, 3, size, size))
    rng = np.random.RandomState(0)
    arg = {n: mx.nd.array(rng.normal(size=s)) for n, s in zip(sym.list_arguments(), arg_shapes)
           if n != 'data'}
    aux = {n: mx.nd.array(rng.uniform(0.5, 1.5, size=s))
           for n, s in zip(sym.list_auxiliary_states(), aux_shapes)}
    return arg, aux


def test_own_checkpoint_roundtrip_records_network(tmp_path):
    sym = symbols.get_symbol('Onet_v2', with_landmark=True)
    arg, aux = _random_params(sym, 48)
    prefix = str(tmp_path / 'sub' / 'onet')
    save_checkpoint(prefix, 3, sym, arg, aux, network='Onet_v2', with_landmark=True)
    assert sorted(os.listdir(tmp_path / 'sub')) == ['onet-0003.params', 'onet-symbol.json']
    # the saved graph is an inference graph any runtime can load: no Custom/loss nodes
    loaded = mx.sym.load(prefix + '-symbol.json')
    assert 'Custom' not in loaded.tojson()
    model = load_model(prefix, 3)
    assert (model.network, model.with_landmark) == ('Onet_v2', True)
    x = np.random.RandomState(2).uniform(-1, 1, (3, 3, 48, 48)).astype(np.float32)
    direct = InferenceModel(sym, arg, aux)(x)
    for a, b in zip(model(x), direct):
        np.testing.assert_array_equal(a, b)


def test_identify_network_by_shapes_including_basenum():
    sym = symbols.get_symbol('Lnet_v1', basenum=16)
    arg, aux = _random_params(sym, 48)
    assert identify_network(arg, aux) == ('Lnet_v1', False, 16)
    sym = symbols.get_symbol('Pnet20_s2v2')
    arg, aux = _random_params(sym, 20)
    assert identify_network(arg, aux)[0] == 'Pnet20_s2v2'
    arg.pop('conv1_weight')
    with pytest.raises(ModelError, match='match no registered network'):
        identify_network(arg, aux)


def test_bad_checkpoint_paths_give_clear_errors(tmp_path):
    with pytest.raises(ModelError, match='not found'):
        load_model(str(tmp_path / 'nothing'), 1)
    bad = tmp_path / 'bad-0001.params'
    bad.write_bytes(b'not a params file')
    with pytest.raises(ModelError, match='cannot read'):
        load_model(str(tmp_path / 'bad'), 1)
    from core.common.image import ImageError, check_size
    with pytest.raises(ImageError, match='missing.jpg: image not found'):
        read_image(str(tmp_path / 'missing.jpg'))
    (tmp_path / 'text.jpg').write_text('not an image')
    with pytest.raises(ImageError, match='text.jpg: cannot decode'):
        read_image(str(tmp_path / 'text.jpg'))
    # a huge image is refused before the detector allocates gigabytes for it
    with pytest.raises(ImageError, match='12000x9000 is 108.0 megapixels'):
        check_size(np.zeros((9000, 12000, 3), np.uint8)[:, :, :1], 'big.jpg')
