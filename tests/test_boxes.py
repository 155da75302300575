"""Cascade geometry: pyramid, box generation per cell/stride, NMS, calibration, squaring, crops."""
import os

import numpy as np
import pytest

from core.common import boxes as bx
from core.common.image import to_tensor


def test_pyramid_scales_640x480():
    s = bx.pyramid_scales(640, 480, 20, cell=20, factor=0.709)
    assert len(s) == 10
    assert s[0] == 1.0 and abs(s[-1] - 0.0453) < 1e-3
    assert min(int(640 * s[-1]), int(480 * s[-1])) > 20
    assert bx.pyramid_scales(640, 480, 40, 20, 0.709)[0] == 0.5
    assert bx.pyramid_scales(15, 15, 20, 20, 0.709) == []
    with pytest.raises(ValueError):
        bx.pyramid_scales(640, 480, 0, 20, 0.709)


@pytest.mark.parametrize('cell,stride', [(20, 4), (20, 2), (16, 4)])
def test_generate_bbox_cell_and_stride(cell, stride):
    prob = np.zeros((5, 7), np.float32)
    prob[2, 3] = 0.9
    prob[4, 6] = 0.4  # below threshold
    reg = np.zeros((4, 5, 7), np.float32)
    reg[:, 2, 3] = [0.1, 0.2, 0.3, 0.4]
    out = bx.generate_bbox(prob, reg, 0.5, 0.6, cell, stride)
    assert out.shape == (1, 9)
    x1, y1 = round(stride * 3 / 0.5), round(stride * 2 / 0.5)
    np.testing.assert_allclose(out[0, :4], [x1, y1, round((stride * 3 + cell) / 0.5),
                                            round((stride * 2 + cell) / 0.5)])
    np.testing.assert_allclose(out[0, 4:], [0.9, 0.1, 0.2, 0.3, 0.4], rtol=1e-6)
    assert bx.generate_bbox(prob, reg, 1.0, 0.95, cell, stride).shape == (0, 9)


def test_nms_union_and_minimum():
    b = np.array([[0, 0, 9, 9, 0.9],      # area 100
                  [1, 1, 10, 10, 0.8],    # IoU with 0: 81/119 = 0.68
                  [0, 0, 4, 4, 0.7],      # inside box 0: IoU 0.25, min-overlap 1.0
                  [50, 50, 60, 60, 0.6]])
    assert list(bx.nms(b, 0.5, 'Union')) == [0, 2, 3]
    assert list(bx.nms(b, 0.7, 'Union')) == [0, 1, 2, 3]
    assert list(bx.nms(b, 0.5, 'Minimum')) == [0, 3]
    assert bx.nms(np.zeros((0, 5)), 0.5).size == 0
    with pytest.raises(ValueError):
        bx.nms(b, 0.5, 'Max')


def test_nms_degenerate_box_suppresses_but_is_not_kept():
    b = np.array([[5, 5, 5, 30, 0.99],   # x2 == x1: degenerate
                  [5, 5, 6, 30, 0.5]])
    assert list(bx.nms(b, 0.3, 'Union')) == []


def test_calibrate_and_square_do_not_modify_input():
    b = np.array([[10., 20., 29., 59., 0.8]])
    orig = b.copy()
    c = bx.calibrate(b, np.array([[0.1, -0.1, 0.2, 0.0]]))
    np.testing.assert_allclose(c[0, :4], [12, 16, 33, 59])
    s = bx.square(b)
    np.testing.assert_allclose(s[0, :4], [0, 20, 39, 59])  # w 20, h 40 -> side 40, centred
    assert s[0, 4] == 0.8
    np.testing.assert_array_equal(b, orig)
    cl = bx.clip(np.array([[-5., -3., 700., 500.]]), 640, 480)
    np.testing.assert_array_equal(cl, [[0, 0, 639, 479]])


def test_crop_batch_pads_at_borders():
    rng = np.random.RandomState(0)
    img = rng.randint(0, 256, (40, 50, 3)).astype(np.uint8)
    boxes = np.array([[10, 10, 19, 19],     # inside
                      [-5, -5, 4, 4],       # top-left corner, half outside
                      [45, 35, 54, 44],     # bottom-right corner
                      [100, 100, 120, 120],  # fully outside
                      [3, 3, 3, 3]], float)  # 1-pixel box
    crops, valid = bx.crop_batch(img, boxes, 10)
    assert crops.shape == (5, 3, 10, 10) and crops.dtype == np.float32
    assert list(valid) == [True, True, True, False, False]
    np.testing.assert_allclose(crops[0], to_tensor(img[10:20, 10:20])[0])
    canvas = np.zeros((10, 10, 3), np.uint8)
    canvas[5:, 5:] = img[0:5, 0:5]
    np.testing.assert_allclose(crops[1], to_tensor(canvas)[0])
    canvas = np.zeros((10, 10, 3), np.uint8)
    canvas[:5, :5] = img[35:40, 45:50]
    np.testing.assert_allclose(crops[2], to_tensor(canvas)[0])
    assert not crops[3].any() and not crops[4].any()
    crops, valid = bx.crop_batch(img, np.zeros((0, 4)), 24)
    assert crops.shape == (0, 3, 24, 24)


def test_to_tensor_normalisation():
    img = np.array([[[0, 128, 255]]], np.uint8)
    t = to_tensor(img)
    assert t.shape == (1, 3, 1, 1)
    np.testing.assert_array_equal(t.ravel(), (np.array([0, 128, 255], np.float32) - 127.5) / 128)


def test_matrix_nms_equals_the_greedy_loop():
    """The pairwise-matrix NMS keeps exactly what the one-box-at-a-time loop keeps (ties in score,
    degenerate boxes and both modes included), and so does the blocked form used above the matrix
    limit (blocks of a few boxes here, so that suppression across blocks is exercised)."""
    from core.common import boxes as bx
    rng = np.random.RandomState(0)
    for trial in range(400):
        n = rng.randint(1, 80)
        xy = rng.randint(0, 60, (n, 2)).astype(float)
        wh = rng.randint(-2, 30, (n, 2)).astype(float)
        scores = rng.choice([0.5, 0.6, 0.9], n) if trial % 2 else rng.rand(n)
        b = np.c_[xy, xy + wh, scores]
        for mode in ('Union', 'Minimum'):
            t = (0.3, 0.5, 0.7)[trial % 3]
            order = b[:, 4].argsort()[::-1]
            want = list(bx._greedy_nms(b, order, t, mode))
            assert list(bx.nms(b, t, mode)) == want, (trial, mode)
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(bx, 'NATIVE_NMS_FROM', 10 ** 9)
                mp.setattr(bx, 'MATRIX_NMS_LIMIT', 0)
                mp.setattr(bx, 'NMS_BLOCK', 1 + trial % 7)
                assert list(bx.nms(b, t, mode)) == want, ('blocked', trial, mode)
            if bx.native_nms():
                with pytest.MonkeyPatch.context() as mp:
                    mp.setattr(bx, 'NATIVE_NMS_FROM', 0)
                    assert list(bx.nms(b, t, mode)) == want, ('native', trial, mode)
    big = np.c_[rng.randint(0, 500, (1500, 2)), rng.randint(500, 520, (1500, 2)), rng.rand(1500)].astype(float)
    big[:, :4] += rng.rand(1500, 4)  # fractional coordinates, as calibrated boxes have
    for mode in ('Union', 'Minimum'):
        want = list(bx._greedy_nms(big, big[:, 4].argsort()[::-1], 0.5, mode))
        assert list(bx.nms(big, 0.5, mode)) == want
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(bx, 'NATIVE_NMS_FROM', 10 ** 9)
            assert list(bx.nms(big, 0.5, mode)) == want


def test_native_nms_builds_here():
    """The compiled NMS builds wherever a C compiler is (CI has one); without it NMS is numpy's."""
    import shutil
    from core.common import boxes as bx
    if not shutil.which(os.environ.get('CC', 'cc')):
        pytest.skip('no C compiler (CC) on this machine: NMS runs in numpy')
    assert bx.native_nms() is not None
