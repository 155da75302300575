"""The cascade end to end: parity with the original on 4.jpg, empty paths, any variant, demo CLI."""
import os
import subprocess
import sys

import numpy as np
import pytest

import symbols
import mxnet as mx
from core.detect.detector import MtcnnDetector, Trace
from core.runtime.model_io import InferenceModel, load_model
from conftest import REPO, shared_path


def _shipped():
    base = shared_path('models', 'train-mtcnn')
    return [load_model(os.path.join(base, p), 16) for p in ('pnet20_v1', 'rnet_v1', 'onet_v1')]


def _reference():
    return np.loadtxt(shared_path('reference', 'train-mtcnn-4jpg-dets.txt'), comments='#')


def _match(found, ref):
    assert found.shape == ref.shape
    for row in ref:
        d = np.abs(found[:, :4] - row[:4]).max(axis=1)
        j = int(np.argmin(d))
        assert d[j] <= 1.0, (row, found[j])
        assert abs(found[j, 4] - row[4]) <= 1e-3


@pytest.mark.parametrize('legacy_clip', [False, True])
def test_parity_with_original_on_4jpg(legacy_clip):
    import cv2
    img = cv2.imread(shared_path('images', '4.jpg'))
    det = MtcnnDetector(*_shipped(), min_face=20, thresh=(0.5, 0.5, 0.7), legacy_clip=legacy_clip)
    trace = Trace()
    boxes, scores, points = det.detect(img, trace=trace)
    _match(np.c_[boxes, scores], _reference())
    assert trace.counts == {'pnet': 130, 'rnet': 73, 'onet': 4}  # the original's cascade on 4.jpg: 130 Pnet boxes, 73 after Rnet, 4 faces
    assert points is None


def test_parity_with_onnx_backend():
    import cv2
    from core.export.onnx_export import to_onnx_model
    img = cv2.imread(shared_path('images', '4.jpg'))
    det = MtcnnDetector(*[to_onnx_model(m, threads=1) for m in _shipped()],
                        min_face=20, thresh=(0.5, 0.5, 0.7))
    boxes, scores, _ = det.detect(img)
    _match(np.c_[boxes, scores], _reference())


def _random_model(name, seed=0, with_landmark=False):
    sym = symbols.get_symbol(name, with_landmark=with_landmark)
    size = symbols.network_info(name)['size']
    arg_shapes, _, aux_shapes = sym.infer_shape(data=(1, 3, size, size))
    rng = np.random.RandomState(seed)
    arg = {n: mx.nd.array(rng.normal(0, 0.3, s)) for n, s in zip(sym.list_arguments(), arg_shapes)
           if n != 'data'}
    aux = {n: mx.nd.array(np.ones(s) if 'var' in n else np.zeros(s))
           for n, s in zip(sym.list_auxiliary_states(), aux_shapes)}
    return InferenceModel(sym, arg, aux, network=name, with_landmark=with_landmark)


def test_empty_image_and_thresholds_give_empty_results():
    det = MtcnnDetector(_random_model('Pnet20_v1'), _random_model('Rnet_v1'),
                        _random_model('Onet_v1'), thresh=(1.0, 1.0, 1.0))
    boxes, scores, points = det.detect(np.zeros((100, 120, 3), np.uint8))
    assert boxes.shape == (0, 4) and scores.shape == (0,)
    tiny = np.zeros((10, 10, 3), np.uint8)  # smaller than one cell: no pyramid level
    assert det.detect(tiny)[0].shape == (0, 4)
    with pytest.raises(ValueError, match='BGR uint8'):
        det.detect(np.zeros((10, 10), np.float32))


@pytest.mark.parametrize('pnet', ['Pnet20_s2v1', 'Pnet16_v0', 'Pnet20_v3'])
def test_any_pnet_variant_uses_its_cell_and_stride(pnet):
    model = _random_model(pnet)
    det = MtcnnDetector(model, thresh=(0.0,))
    info = symbols.network_info(pnet)
    assert (det.cell, det.stride) == (info['cell'], info['stride'])
    img = np.random.RandomState(3).randint(0, 255, (64, 80, 3)).astype(np.uint8)
    raw = det.detect_face(img, candidates=True)
    assert len(raw) > 0
    side = raw[:, 2] - raw[:, 0]
    assert np.all(side >= info['cell'] - 1)


def test_onet_landmarks_and_lnet_outputs():
    rng = np.random.RandomState(4)
    img = rng.randint(0, 255, (60, 60, 3)).astype(np.uint8)
    det = MtcnnDetector(_random_model('Pnet20_v1'), _random_model('Rnet_v1'),
                        _random_model('Onet_v1', with_landmark=True), thresh=(0.0, 0.0, 0.0),
                        lnet=_random_model('Lnet_v1'))
    trace = Trace()
    boxes, scores, points = det.detect(img, trace=trace)
    assert len(boxes) > 0
    assert points.shape == (len(boxes), 5, 2)
    assert trace.landmarks5.shape == (len(boxes), 5, 2)


def test_demo_cli_writes_dets(tmp_path):
    base = shared_path('models', 'train-mtcnn')
    prefix = ','.join(os.path.join(base, p) for p in ('pnet20_v1', 'rnet_v1', 'onet_v1'))
    out, dets = tmp_path / 'out.jpg', tmp_path / 'dets.txt'
    cmd = [sys.executable, 'demo.py', '--prefix', prefix, '--epoch', '16,16,16', '--pnet', 'Pnet20_v0',
           '--rnet', 'Rnet_v1', '--onet', 'Onet_v1', '--imgfile', shared_path('images', '4.jpg'),
           '--thresh', '0.5,0.5,0.7', '--min_face', '20', '--out', str(out), '--save_dets', str(dets)]
    subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
    assert out.exists()
    _match(np.loadtxt(str(dets)).reshape(-1, 5), _reference())
    bad = subprocess.run(cmd[:-4] + ['--imgfile', str(tmp_path / 'none.jpg')], cwd=REPO,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and 'none.jpg' in bad.stderr


def test_default_models_at_their_default_point_draw_the_four_faces_and_nothing_else(tmp_path):
    from core.common.boxes import iou_matrix
    dets = tmp_path / 'dets.txt'
    subprocess.run([sys.executable, 'demo.py', '--imgfile', shared_path('images', '4.jpg'), '--out',
                    str(tmp_path / 'o.jpg'), '--save_dets', str(dets)], cwd=REPO, check=True, capture_output=True)
    got = np.loadtxt(str(dets)).reshape(-1, 5)
    ref = _reference()
    assert len(got) == len(ref) == 4
    assert (iou_matrix(ref[:, :4], got[:, :4]).max(1) >= 0.5).all()


def test_demo106_cli(tmp_path):
    ref = np.loadtxt(shared_path('reference', 'train-mtcnn-lnet106-00jpg.txt'), comments='#')
    pts = tmp_path / 'pts.txt'
    subprocess.run([sys.executable, 'demo106.py', '--out', str(tmp_path / 'o.png'),
                    '--save_points', str(pts)], cwd=REPO, check=True, capture_output=True)
    assert np.abs(np.loadtxt(str(pts)) - ref).max() < 1e-4


def test_onnx_backend_leaves_no_temporary_files():
    import tempfile
    from core.detect.cascade import build_cascade
    base = os.path.join(shared_path('models', 'train-mtcnn'), 'pnet20_v1')
    before = {p for p in os.listdir(tempfile.gettempdir()) if p.startswith('mtcnn-onnx-')}
    det = build_cascade([base], [16], backend='onnx', threads=1)
    assert det.pnet.info['kind'] == 'pnet'
    after = {p for p in os.listdir(tempfile.gettempdir()) if p.startswith('mtcnn-onnx-')}
    assert after <= before


def test_level_buffers_do_not_grow_across_image_sizes():
    det = MtcnnDetector(_random_model('Pnet20_v1'), thresh=(0.99,))
    rng = np.random.RandomState(0)
    for h, w in ((120, 160), (97, 131), (200, 150), (120, 160)):
        det.detect_face(rng.randint(0, 255, (h, w, 3)).astype(np.uint8))
    levels = len(__import__('core.common.boxes', fromlist=['x']).pyramid_scales(160, 120, 20, 20, 0.709))
    assert len(det._local.buffers) <= levels + 1  # the last image's levels only (plus its shape key)


class _Mirrored:
    """An Onet whose face probability is the mean over each crop and its mirror image."""

    def __init__(self, model):
        self.model, self.info, self.network = model, model.info, model.network

    def __call__(self, x):
        out = list(self.model(x))
        out[0] = (out[0] + self.model(np.ascontiguousarray(x[..., ::-1]))[0]) / 2
        return out


def test_onet_flip_averages_each_crop_with_its_mirror():
    import cv2
    img = cv2.imread(shared_path('images', '4.jpg'))
    p, r, o = _shipped()
    plain = MtcnnDetector(p, r, o, thresh=(0.5, 0.5, 0.3)).detect_face(img)
    flip = MtcnnDetector(p, r, o, thresh=(0.5, 0.5, 0.3), onet_flip=True).detect_face(img)
    wrapped = MtcnnDetector(p, r, _Mirrored(o), thresh=(0.5, 0.5, 0.3)).detect_face(img)
    np.testing.assert_allclose(flip, wrapped, rtol=0, atol=1e-9)
    assert flip.shape == plain.shape and np.abs(flip[:, 4] - plain[:, 4]).max() > 1e-6  # the same faces, other scores


def test_a_second_onet_pass_scores_its_own_boxes():
    import cv2
    from core.common import boxes as bx
    img = cv2.imread(shared_path('images', '4.jpg'))
    p, r, o = _shipped()
    det = MtcnnDetector(p, r, o, thresh=(0.5, 0.5, 0.5), onet_passes=2)
    found = det.detect_face(img)
    # by hand: pass 1 gated at the threshold, pass 2 on its squared, rounded boxes, mean probability,
    # the second pass's regression, then the final NMS
    _, rbox = det.detect_rnet(img, det.detect_pnet(img)[1])

    def onet(boxes):
        sq = bx.square(boxes)
        sq[:, :4] = np.round(sq[:, :4])
        prob, reg = o(bx.crop_batch(img, sq, 48, check_geometry=False)[0])[:2]
        return sq, prob[:, 1], reg
    sq, prob, reg = onet(rbox)
    keep = prob > 0.5
    first = sq[keep]
    first[:, 4] = prob[keep]
    first = bx.calibrate(first, reg[keep])
    sq2, prob2, reg2 = onet(first)
    sq2[:, 4] = (first[:, 4] + prob2) / 2
    want = bx.calibrate(sq2, reg2)
    want = want[bx.nms(want, 0.7, 'Minimum')]
    np.testing.assert_allclose(found, want, rtol=0, atol=1e-4)  # batches of another size: float noise
    assert len(found) == 4
    with pytest.raises(ValueError, match='onet_passes'):
        MtcnnDetector(p, r, o, onet_passes=0)


def test_zqcnn_scheme_and_exports_refuse_onet_test_time_options(tmp_path):
    from core.export.onnx_export import export_cascade
    from core.recipes.cascade_settings import CascadeSettings
    from core.detect.zqcnn_scheme import ZqcnnDetector
    p, r, o = _random_model('Pnet20_v1'), _random_model('Rnet_v1'), _random_model('Onet_v1')
    with pytest.raises(ValueError, match='no mirrored or repeated Onet'):
        ZqcnnDetector(p, r, o, onet_flip=True)
    with pytest.raises(ValueError, match='no mirrored landmark pass'):
        ZqcnnDetector(p, r, o, lnet_flip=True)
    with pytest.raises(ValueError, match='one plain Onet pass'):
        export_cascade(dict(pnet=p, rnet=r, onet=o), str(tmp_path / 'x'),
                       CascadeSettings(onet_passes=2))
    assert not (tmp_path / 'x').exists()


class _DotNet:
    """A stand-in landmark net that reads its 5 points off the crop: the bright pixels, the two highest
    as the eyes and the two lowest as the mouth corners (each pair left to right), the middle one as
    the nose; crop-normalised as the nets' labels, (pixel + 0.5) / side. It is mirror-equivariant."""
    info = dict(kind='lnet', size=48, n_points=5)
    network = 'dots'

    def __call__(self, x):
        out = []
        for crop in x:
            ys, xs = np.nonzero(crop[0] > 0.5)
            order = np.argsort(ys, kind='stable')
            pts = np.c_[xs[order], ys[order]].astype(np.float64)
            eyes, nose, mouth = pts[:2][np.argsort(pts[:2, 0])], pts[2:3], pts[3:][np.argsort(pts[3:, 0])]
            pts = (np.r_[eyes, nose, mouth] + 0.5) / x.shape[-1]
            out.append(np.r_[pts[:, 0], pts[:, 1]])
        return [np.array(out, np.float32)]


def test_lnet_flip_maps_the_mirrored_points_back():
    from core.landmarks.points import flip_points, from_vector
    img = np.zeros((100, 100, 3), np.uint8)
    dots = np.array([[20, 18], [36, 17], [29, 30], [22, 41], [37, 43]])  # eyes, nose, mouth corners (x, y)
    for x, y in dots:
        img[10 + y, 10 + x] = 255
    box = np.array([[10, 10, 57, 57, 1.0]])  # a 48-pixel square: the crop is the image, pixel for pixel
    det = MtcnnDetector(_random_model('Pnet20_v1'), lnet=_DotNet())
    np.testing.assert_allclose(det.landmarks(img, box, _DotNet())[0], dots + 10, atol=1e-4)
    np.testing.assert_allclose(det.landmarks(img, box, _DotNet(), flip=True)[0], dots + 10, atol=1e-4)  # equivariant
    # any net: the mean of its points and its mirrored crop's points mapped back, left and right swapped
    lnet = _random_model('Lnet_v1')
    boxes = np.array([[5.3, 8.1, 60.7, 70.2, 0.9], [30, 20, 90, 85, 0.8]])
    det = MtcnnDetector(_random_model('Pnet20_v1'), lnet=lnet)
    from core.common import boxes as bx
    sq = bx.square(boxes)
    sq[:, :4] = np.round(sq[:, :4])
    crops = bx.crop_batch(img, sq, 48, check_geometry=False)[0]
    mean = (from_vector(lnet(crops)[0]) + flip_points(from_vector(lnet(np.ascontiguousarray(crops[..., ::-1]))[0]))) / 2
    side = (sq[:, 2:4] - sq[:, 0:2] + 1)[:, None, :]
    np.testing.assert_allclose(det.landmarks(img, boxes, lnet, flip=True), mean * side - 0.5 + sq[:, None, 0:2], atol=1e-4)
    # detect() mirrors the 5-point Lnet when lnet_flip is on, and only then
    found = np.array([[5.3, 8.1, 60.7, 70.2, 0.9]])
    for on in (False, True):
        det = MtcnnDetector(_random_model('Pnet20_v1'), lnet=lnet, lnet_flip=on)
        det.detect_face = lambda image, candidates=False, trace=None: found
        np.testing.assert_allclose(det.detect(img)[2], det.landmarks(img, found, lnet, flip=on))
    assert not np.allclose(det.landmarks(img, found, lnet), det.landmarks(img, found, lnet, flip=True))
