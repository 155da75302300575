"""Detector-framed landmark training: crops cut as the detector cuts them (exactly, and jittered with
the points following the pixels), the box list of prepare_data/landmark_boxes.py, the frozen output
BatchNorm of ``target_norm``, the L1 landmark loss and the NME metric."""
import os
import subprocess
import sys

import cv2
import mxnet as mx
import numpy as np
import pytest

from conftest import REPO, landmark_sublist
from core.train import augment as A
from core.common import boxes as bx
from core.train import batches as D


def _dots(size=120, seed=0):
    """A black image with 5 bright 3×3 dots and their centres (pixel-index coordinates)."""
    img = np.zeros((size, size + 10, 3), np.uint8)
    pts = np.array([[45, 45], [75, 46], [60, 62], [48, 80], [73, 79]], np.float64) + seed
    for x, y in pts.astype(int):
        img[y - 1:y + 2, x - 1:x + 2] = 255
    return img, pts


def test_unjittered_box_crop_is_the_detectors_crop():
    img = (np.random.RandomState(1).rand(100, 90, 3) * 255).astype(np.uint8)
    pts = np.array([[20, 30], [40, 31], [30, 42], [22, 52], [38, 53.]])
    for box in (np.array([10.3, 20.7, 60.2, 75.9]), np.array([-12.4, -3.1, 40.6, 47.2]), np.array([50.5, 60.2, 99.7, 120.1])):
        crop, norm = A.box_crop5(img, pts, box, 48)
        sq = bx.square(box[None].copy())
        sq[:, :4] = np.round(sq[:, :4])
        ref, _ = bx.crop_batch(img, np.c_[sq, np.ones(1)], 48)
        assert np.array_equal(D.normalise_batch(crop[None])[0], ref[0])
        side = sq[0, 2:4] - sq[0, 0:2] + 1
        assert np.allclose(norm, (pts - sq[0, :2] + 0.5) / side)
        # the detector maps a net output back with the same convention
        from core.detect.detector import _denormalise_points
        back = _denormalise_points(norm[None], sq)[0]
        assert np.allclose(back, pts)


def test_jittered_box_crops_move_the_points_with_the_pixels():
    img, pts = _dots()
    box = np.array([25.0, 22.0, 95.0, 98.0])
    rng = np.random.default_rng(3)
    for _ in range(20):
        crop, norm = A.box_crop5(img, pts, box, 96, rng, shift=0.08, scale=0.15, max_rot=30)
        grey = crop[..., 0].astype(np.float64)
        for x, y in norm * 96:  # the brightest pixel near each point is within a pixel of it
            if not (4 <= x <= 92 and 4 <= y <= 92):
                continue
            x0, y0 = int(round(x - 0.5)), int(round(y - 0.5))
            win = grey[max(0, y0 - 3):y0 + 4, max(0, x0 - 3):x0 + 4]
            assert win.max() > 60
            yy, xx = np.unravel_index(np.argmax(win), win.shape)
            assert abs(max(0, x0 - 3) + xx + 0.5 - x) <= 1.6 and abs(max(0, y0 - 3) + yy + 0.5 - y) <= 1.6


def test_box_framing_maker_and_target_stats():
    img, pts = _dots()
    path = os.path.join(os.environ.get('TMPDIR', '/tmp'), 'mtcnn_dots_%d.png' % os.getpid())
    cv2.imwrite(path, img)
    try:
        samples = [(path, np.array([25.0, 22.0, 71.0, 77.0]), pts)] * 6
        maker = D.LandmarkOnlineMaker(samples, 48, 5, True, {'enable_blur': False}, framing='box')
        batch = maker(np.arange(6), np.random.default_rng(0))
        assert batch['data'].shape == (6, 3, 48, 48) and batch['landmark_target'].shape == (6, 10)
        quiet = D.LandmarkOnlineMaker(samples, 48, 5, True, {'photometric': False}, framing='box')
        b = quiet(np.arange(3), np.random.default_rng(0))  # geometric jitter and flips only
        rng, crops = np.random.default_rng(0), []
        for _ in range(3):
            crop, _ = A.box_crop5(img, pts, (25.0, 22.0, 95.0, 98.0), 48, rng)
            crops.append(crop[:, ::-1] if rng.random() < 0.5 else crop)
        assert np.array_equal(b['data'], D.normalise_batch(np.stack(crops)))
        mean, std = D.target_stats(maker, seed=0)
        plain = maker.plain()(np.arange(1), np.random.default_rng(0))['landmark_target'][0]
        assert np.allclose(mean, plain, atol=1e-6) and np.all(std == 1e-3)  # identical samples: floor
        with pytest.raises(ValueError, match='3 values'):
            D.LandmarkOnlineMaker(samples, 48, 5, framing='box', jitter=(0.1, 0.2))
        try:
            D.LandmarkOnlineMaker([(path, None, pts)], 48, 5, framing='box')([0], np.random.default_rng(0))
            raise AssertionError('a box framing without boxes must fail')
        except D.DataError as exc:
            assert 'box' in str(exc)
    finally:
        os.remove(path)


def test_l1_landmark_loss_and_nme_metric():
    from core.train.losses import reg_loss
    from core.train.metrics import StageMetrics
    pred = mx.nd.array([[0.1, 0.2, 0.3], [0.0, 0.0, 0.0]])
    target = mx.nd.zeros((2, 3))
    valid = mx.nd.ones(2)
    l2, _ = reg_loss(pred, target, valid, 0.7, False, 1.0)
    l1, _ = reg_loss(pred, target, valid, 0.7, False, 1.0, l1=True)
    assert np.isclose(l2.asscalar(), (0.01 + 0.04 + 0.09) / 2) and np.isclose(l1.asscalar(), 0.6 / 2)
    t = np.array([[0.3, 0.7, 0.5, 0.35, 0.65, 0.4, 0.4, 0.6, 0.8, 0.8]], np.float32)  # eyes 0.4 apart
    p = t.copy()
    p[0, :5] += 0.04  # every point 0.04 off in x: NME 10 %
    m = StageMetrics('lnet', False)
    m.update([p], {'landmark_target': t}, {'landmark': (None, np.ones(1))})
    assert np.isclose(m.get()['lmNME'], 10.0)


def test_target_norm_freezes_the_output_batchnorm(tmp_path):
    """A short run with --target_norm: the head BN's scale/shift stay at the targets' std/mean, the
    rest trains, and the saved inference graph is the plain Lnet's."""
    from core.runtime.model_io import load_model, load_params
    from core.recipes.training_recipe import Phase, RunOptions, StageRecipe
    from core.train.trainer import train
    img, pts = _dots()
    rows = []
    for k in range(8):
        p = tmp_path / ('f%d.png' % k)
        shifted = np.roll(img, k, axis=1)
        cv2.imwrite(str(p), shifted)
        q = pts + [k, 0]
        rows.append('%s 20 18 80 80 %s' % (p.name, ' '.join('%g %g' % tuple(v) for v in q)))
    lst = tmp_path / 'boxes.txt'
    lst.write_text('\n'.join(rows) + '\n')
    recipe = StageRecipe(network='Lnet_v2', image_set=str(lst), prefix=str(tmp_path / 'l'), online=True,
                         list_format='celeba', framing='box', target_norm=True, landmark_loss='l1', prelu_init=0.25,
                         val_ratio=0.25, phases=(Phase(lr=0.001, lr_epoch=(100,), end_epoch=1, batch_size=4,
                                                       optimizer='adam'),))
    res = train(recipe, run=RunOptions(workers=0, quiet=True))
    assert 'lmNME' in res['val']
    arg, aux = load_params(str(tmp_path / 'l-0001.params'))
    samples = D.LandmarkOnlineMaker([(str(tmp_path / ('f%d.png' % k)), np.array([20, 18, 80, 80.]), pts + [k, 0])
                                     for k in range(8)], 48, 5, False, {}, 'box')
    assert np.allclose(aux['bn6_3_moving_mean'].asnumpy(), 0) and np.allclose(aux['bn6_3_moving_var'].asnumpy(), 0.999)
    g = arg['bn6_3_gamma'].asnumpy()
    assert g.min() >= 1e-3 - 1e-9 and g.max() < 0.2  # the targets' spread, not the initial 1.0
    sym = open(str(tmp_path / 'l-symbol.json')).read()
    assert 'use_global_stats' not in sym  # the inference graph is the plain Lnet's
    model = load_model(str(tmp_path / 'l'), 1)
    out = model(samples(np.arange(2), np.random.default_rng(0))['data'])[0]
    assert out.shape == (2, 10) and np.all(np.isfinite(out))
    # a --val_list is the validation data of an online list too: every training line trains
    from core.train.batches import make_loaders
    from core.train.trainer import settings
    from symbols import network_info
    val = tmp_path / 'dev.txt'
    val.write_text('\n'.join(rows[:3]) + '\n')
    for val_list, sizes in ((None, (6, 2)), (str(val), (8, 3))):
        s = settings(recipe, run=RunOptions(workers=0, quiet=True, val_list=val_list))
        tl, vl = make_loaders(s, network_info('Lnet_v2'))
        assert (tl.num_samples, vl.num_samples) == sizes


def test_landmark_boxes_tool_on_cuhk_faces(tmp_path):
    small = landmark_sublist(tmp_path / 'cuhk.txt', 'new_training.txt', 20)
    out = tmp_path / 'lists' / 'boxes.txt'
    anno = tmp_path / 'anno.txt'
    r = subprocess.run([sys.executable, 'prepare_data/landmark_boxes.py', '--list', str(small), '--out', str(out),
                        '--anno_out', str(anno)], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    from core.landmarks.points import read_landmark_list
    items = read_landmark_list(str(out), 'celeba')
    assert len(items) >= 18
    for path, box, p in items:
        assert os.path.isfile(path)
        x, y, w, h = box
        cx, cy = p.mean(0)
        assert x <= cx <= x + w and y <= cy <= y + h and 25 < w < 80  # an 80x80 CUHK crop's face
    # the same boxes as a WIDER-style anno.txt, from which gen_data cuts positives and parts only
    from prepare_data.wider import read_anno
    boxes = read_anno(str(anno))
    assert [os.path.realpath(p) for p, _ in boxes] == [os.path.realpath(p) for p, _, _ in items]
    for (_, b), (_, (x, y, w, h), _) in zip(boxes, items):
        assert np.allclose(b, [[x, y, x + w - 1, y + h - 1]], atol=0.011)
    from prepare_data.gen_data import generate
    rep = generate(str(anno), 48, str(tmp_path / 's'), min_face=20, workers=1)
    assert rep['counts']['pos'] > 5 * len(items) and rep['counts']['part'] > 0 and rep['counts']['neg'] == 0


def test_wing_loss_is_log_below_w_and_linear_above():
    """The wing loss: w·ln(1 + |d|/ε) below w, |d| − C above, continuous at w; steeper than L1 near 0."""
    import math
    from core.train.losses import reg_loss
    w, eps = 0.1, 0.02
    d = np.array([[0.0, 0.01, -0.05, 0.1, -0.3]], np.float32)
    loss, _ = reg_loss(mx.nd.array(d), mx.nd.zeros(d.shape), mx.nd.ones(1), 0.7, False, 1.0, wing=(w, eps))
    c = w - w * math.log(1 + w / eps)
    want = sum(w * math.log(1 + abs(x) / eps) if abs(x) < w else abs(x) - c for x in d[0])
    assert np.isclose(loss.asscalar(), want, rtol=1e-5)
    assert np.isclose(w * math.log(1 + w / eps), w - c)  # continuous at |d| = w
    pred = mx.nd.array([[0.01]])
    pred.attach_grad()
    with mx.autograd.record():
        out, _ = reg_loss(pred, mx.nd.zeros((1, 1)), mx.nd.ones(1), 0.7, False, 1.0, wing=(w, eps))
    out.backward()
    assert np.isclose(pred.grad.asscalar(), w / (eps + 0.01), rtol=1e-4)  # 3.3, against L1's 1


def test_pose_balanced_split(tmp_path):
    """prepare_data/landmark_split.py holds out the same number of faces per pose bin, keeps every
    other face for training, and rewrites the paths for its output folder."""
    from core.landmarks.points import read_landmark_list
    from core.landmarks.points import yaw_proxy
    from prepare_data.landmark_split import split
    frontal = np.array([[30, 40], [50, 40], [40, 50], [32, 60], [48, 60]], float)
    assert yaw_proxy(frontal) == 0
    turned = frontal + [[0, 0], [0, 0], [6, 0], [0, 0], [0, 0]]
    assert np.isclose(yaw_proxy(turned), 0.3)
    rows, samples = [], []
    rng = np.random.RandomState(1)
    for k in range(400):  # mostly frontal, as the CUHK list
        shift = rng.choice([0, 0, 0, 0, 0, 0, 2, 4, 7]) * rng.choice([-1, 1])
        pts = frontal + [[0, 0], [0, 0], [shift, 0], [0, 0], [0, 0]]
        rows.append('img/f%d.jpg 10 10 60 60 %s' % (k, ' '.join('%g %g' % tuple(p) for p in pts)))
        samples.append(('f%d' % k, None, pts))
    train, dev, bins = split(samples, 0.1, 0)
    assert len(dev) == 40 and len(np.intersect1d(train, dev)) == 0 and len(train) + len(dev) == 400
    per_bin = np.bincount(bins[dev], minlength=4)
    assert per_bin.max() - per_bin.min() <= 1 and np.bincount(bins)[0] > 250  # balanced, though the list is not
    lst = tmp_path / 'data' / 'boxes.txt'
    lst.parent.mkdir()
    lst.write_text('\n'.join(rows) + '\n')
    r = subprocess.run([sys.executable, 'prepare_data/landmark_split.py', '--list', str(lst), '--out',
                        str(tmp_path / 'split')], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    dev_list = read_landmark_list(str(tmp_path / 'split' / 'dev.txt'), 'celeba')
    assert len(dev_list) == 40 and os.path.normpath(dev_list[0][0]).startswith(str(tmp_path / 'data' / 'img' / 'f'))
    assert len(open(tmp_path / 'split' / 'train.txt').readlines()) == 360
    points = read_landmark_list(str(tmp_path / 'split' / 'dev_points.txt'), 'cuhk')  # the eval's layout
    assert [p for p, _, _ in points] == [p for p, _, _ in dev_list]
    assert all(np.allclose(a[2], b[2]) for a, b in zip(points, dev_list))
    from prepare_data.landmark_split import pose_repeats
    assert list(pose_repeats(np.array([0, 0, 0, 0, 1, 2, 2]), 1)) == [1, 1, 1, 1, 4, 2, 2]
    assert list(pose_repeats(np.array([0, 0, 0, 0, 1]), 0)) == [1] * 5
    r = subprocess.run([sys.executable, 'prepare_data/landmark_split.py', '--list', str(lst), '--out',
                        str(tmp_path / 'bal'), '--pose_balance', '1'], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert open(tmp_path / 'bal' / 'dev.txt').read() == open(tmp_path / 'split' / 'dev.txt').read()
    train_bal = read_landmark_list(str(tmp_path / 'bal' / 'train.txt'), 'celeba')
    from core.landmarks.points import pose_bins
    sizes = np.bincount(pose_bins([p for _, _, p in train_bal]))
    assert len(train_bal) > 360 and sizes.max() < 2 * sizes.min()  # turned faces repeated toward even
