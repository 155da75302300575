"""Training: losses and gradients vs numpy, OHEM, empty batches, metrics, lr schedule, flips,
a short run whose loss falls, checkpoints, exact resume, and dist_sync on loopback."""
import os
import subprocess
import sys

import numpy as np
import pytest

import symbols
import mxnet as mx
from core.train import batches as D
from core.train.augment import flip_batch, transform_batch
from core.train.losses import cls_loss, reg_loss, stage_losses
from core.train.metrics import StageMetrics
from core.runtime.model_io import load_model, load_params
from core.train.optim import lr_schedule
from core.train.trainer import init_params, loss_config, make_block, micro_batch_size, train_step, use_micro_batches, LossGraph
from conftest import REPO

nd = mx.nd


def _grad(fn, x):
    x = nd.array(x)
    x.attach_grad()
    with mx.autograd.record():
        out = fn(x)
        loss = out[0]
    loss.backward()
    return out, x.grad.asnumpy()


def test_cls_loss_ohem_and_gradient_match_numpy():
    rng = np.random.RandomState(0)
    logits = rng.normal(0, 2, (10, 2)).astype(np.float32)
    label = np.array([1, 0, -1, 1, 0, 0, -1, 1, 0, 1], np.float32)
    (loss, keep, prob), g = _grad(lambda x: cls_loss(x, nd.array(label), 0.7, True), logits)
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    valid = label >= 0
    nll = -np.log(p[np.arange(10), np.maximum(label, 0).astype(int)])
    k = int(np.floor(0.7 * valid.sum()))
    order = np.argsort(-np.where(valid, nll, -np.inf))[:k]
    want_keep = np.zeros(10)
    want_keep[order] = 1
    np.testing.assert_array_equal(keep.asnumpy(), want_keep)
    np.testing.assert_allclose(loss.asscalar(), nll[order].mean(), rtol=1e-5)
    onehot = np.eye(2)[np.maximum(label, 0).astype(int)]
    want_g = (p - onehot) * want_keep[:, None] / k  # true cross-entropy gradient, kept rows only
    np.testing.assert_allclose(g, want_g, rtol=1e-4, atol=1e-6)
    # OHEM off keeps every valid sample
    _, keep_all, _ = cls_loss(nd.array(logits), nd.array(label), 0.7, False)
    np.testing.assert_array_equal(keep_all.asnumpy(), valid)


def test_bbox_loss_gradient_is_the_original_head_scale():
    rng = np.random.RandomState(1)
    b, t = rng.normal(size=(8, 4)).astype(np.float32), rng.normal(size=(8, 4)).astype(np.float32)
    typ = np.array([1, -1, 0, 1, -2, -1, 0, 1], np.float32)
    (loss, keep), g = _grad(lambda x: reg_loss(x, nd.array(t), nd.abs(nd.array(typ)) == 1, 0.7, True, 2.0), b)
    se = ((b - t) ** 2).sum(1)
    valid = np.abs(typ) == 1
    k = int(np.floor(0.7 * valid.sum()))
    kept = np.argsort(-np.where(valid, se, -np.inf))[:k]
    np.testing.assert_allclose(loss.asscalar(), 2 * se[kept].sum() / k, rtol=1e-5)
    want = np.zeros_like(b)
    want[kept] = 4 * (b - t)[kept] / k  # 4(b − t)/K: the original HEAD loss layer's bbox gradient
    np.testing.assert_allclose(g, want, rtol=1e-4, atol=1e-6)


def test_empty_batches_contribute_zero_not_nan():
    logits = nd.array(np.random.rand(4, 2))
    label = nd.array([-1, -1, -1, -1])
    loss, keep, _ = cls_loss(logits, label, 0.7, True)
    assert loss.asscalar() == 0 and keep.sum().asscalar() == 0
    (loss, _), g = _grad(lambda x: reg_loss(x, nd.zeros((4, 4)), nd.zeros(4), 0.7, True, 2.0), np.random.rand(4, 4))
    assert loss.asscalar() == 0 and not np.isnan(g).any() and not g.any()


def test_landmark_losses_for_onet_and_lnet():
    rng = np.random.RandomState(2)
    n = 6
    batch = dict(label=nd.array([1, 0, -1, -1, 1, 0]), type_label=nd.array([1, 0, -1, -2, 1, -2]),
                 bbox_target=nd.array(rng.rand(n, 4)), landmark_target=nd.array(rng.rand(n, 10)))
    outs = [nd.array(rng.rand(n, 2)), nd.array(rng.rand(n, 4)), nd.array(rng.rand(n, 10))]
    total, parts = stage_losses(outs, batch, 'onet', loss_config(True, 'l2'), True)
    np.testing.assert_array_equal(parts['landmark'][1].asnumpy(), [0, 0, 0, 1, 0, 1])
    d = outs[2].asnumpy()[[3, 5]] - batch['landmark_target'].asnumpy()[[3, 5]]
    np.testing.assert_allclose(parts['landmark'][0].asscalar(), 2 * (d ** 2).sum() / 2, rtol=1e-5)
    pts = nd.array(rng.rand(n, 212))
    tgt = nd.array(rng.rand(n, 212))
    total, parts = stage_losses([pts], dict(landmark_target=tgt), 'lnet', loss_config(True, 'l2'), False)
    d = pts.asnumpy() - tgt.asnumpy()
    np.testing.assert_allclose(total.asscalar(), (d ** 2).sum() / n, rtol=1e-5)  # 106 points: weight 1


def test_metric_definitions():
    m = StageMetrics('pnet', False)
    prob = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])
    keep = np.array([1, 1, 1, 0])
    batch = dict(label=np.array([0, 1, 1, 0]), bbox_target=np.zeros((4, 4)))
    box_keep = np.array([0, 1, 0, 0])
    outs = [None, np.full((4, 4), 0.5)]
    m.update(outs, batch, {'cls': (0, keep, prob), 'bbox': (0, box_keep)})
    r = m.get()
    assert abs(r['acc'] - 2 / 3) < 1e-9
    assert abs(r['loss'] - np.mean(-np.log([0.9, 0.8, 0.4]))) < 1e-9
    assert abs(r['boxL2'] - 0.25) < 1e-9 and abs(r['boxL1'] - 0.5) < 1e-9
    m.reset()
    assert m.get() == {}


def test_lr_schedule_milestones():
    base, sched = lr_schedule(0.01, [8, 14], 0, 1000, 100)
    assert base == 0.01 and sched.step == [80, 140]
    base, sched = lr_schedule(0.01, [8, 14], 10, 1000, 100)
    assert abs(base - 0.001) < 1e-12 and sched.step == [40]
    base, sched = lr_schedule(0.01, [8, 14], 20, 1000, 100)
    assert abs(base - 0.0001) < 1e-12 and sched is None


def test_initialisation_is_the_originals():
    sym = symbols.get_symbol('L106_Net64', 'train')
    arg, aux = init_params(sym, (1, 3, 64, 64), seed=0, prelu_init=1.0)
    assert (arg['conv1_relu_gamma'].asnumpy() == 1).all()
    assert np.allclose(arg['fc1_relu_gamma'].asnumpy(), 0.1)  # fc* parameters divided by 10
    w = arg['res3_block0_conv_sep_conv2d_weight'].asnumpy()
    assert abs(w.std() - np.sqrt(2.0 / 16)) < 0.2 * np.sqrt(2.0 / 16)  # 256 samples of N(0, 2/fan_in)
    assert (aux['conv1_batchnorm_moving_var'].asnumpy() == 1).all()
    arg, _ = init_params(sym, (1, 3, 64, 64), seed=0, prelu_init=0.25)
    assert (arg['conv1_relu_gamma'].asnumpy() == 0.25).all() and (arg['conv1_batchnorm_gamma'].asnumpy() == 1).all()


def test_train_and_test_graphs_compute_the_same():
    # training uses a decomposed PReLU (same parameters); outputs must agree with the test graph
    for name in ('Pnet20_v3', 'L106_Net64'):
        size = symbols.network_info(name)['size']
        train = symbols.get_symbol(name, 'train')
        test = symbols.get_symbol(name, 'test')
        arg, aux = init_params(train, (1, 3, size, size), seed=3, prelu_init=1.0)
        for k in arg:
            if k.endswith('_gamma') and ('prelu' in k or 'relu' in k):
                arg[k] = nd.array(np.random.RandomState(0).uniform(0.1, 0.5, arg[k].shape))
        from core.runtime.model_io import InferenceModel
        x = np.random.RandomState(1).uniform(-1, 1, (2, 3, size, size)).astype(np.float32)
        a = InferenceModel(train, arg, aux)(x)[0]
        b = InferenceModel(test, arg, aux)(x)[0]
        if name.startswith('Pnet'):
            b = np.log(b.reshape(2, 2))  # test mode is softmax; compare log-probabilities
            a = a - np.log(np.exp(a).sum(1, keepdims=True))
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_flip_and_transform():
    imgs = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    bbox = np.array([[0.1, 0.2, -0.3, 0.4], [0.1, 0.2, -0.3, 0.4]], np.float32)
    lm = np.array([[0.3, 0.7, 0.5, 0.35, 0.65, 0.4, 0.41, 0.6, 0.8, 0.81]] * 2, np.float32)
    out, b, l = flip_batch(imgs, np.array([True, False]), bbox, lm)
    np.testing.assert_array_equal(out[0], imgs[0][:, ::-1])
    np.testing.assert_allclose(b[0], [0.3, 0.2, -0.1, 0.4])
    np.testing.assert_allclose(b[1], bbox[1])
    np.testing.assert_allclose(l[0], [0.3, 0.7, 0.5, 0.35, 0.65, 0.41, 0.4, 0.6, 0.81, 0.8], atol=1e-6)
    rng = D.batch_rng(0, 0, 0)
    x = transform_batch(np.full((3, 8, 8, 3), 128, np.uint8), rng)
    assert x.shape == (3, 3, 8, 8) and x.dtype == np.float32 and np.abs(x).max() <= 1.0
    a = transform_batch(imgs, D.batch_rng(1, 2, 3))
    b2 = transform_batch(imgs, D.batch_rng(1, 2, 3))
    np.testing.assert_array_equal(a, b2)  # seeded


def _rnet_batch(n, seed=0):
    """A random 24×24 batch of ``n`` samples with classification and box labels (an Rnet step's input)."""
    rng = np.random.RandomState(seed)
    batch = dict(data=rng.uniform(-1, 1, (n, 3, 24, 24)).astype(np.float32),
                 label=rng.choice([-1, 0, 1], n).astype(np.float32), bbox_target=rng.randn(n, 4).astype(np.float32),
                 landmark_target=np.zeros((n, 10), np.float32))
    batch['type_label'] = batch['label'].copy()
    return batch


def test_micro_batches_step_like_devices_of_a_multi_device_run():
    # one CPU in chunks of 16 == two (CPU) devices of 16 each: same OHEM/BN batch statistics per
    # chunk; devices sum their gradients (the original's Module) while chunks average theirs, so two
    # devices at lr 0.05 step exactly as one device in two chunks at lr 0.1
    name = 'Rnet_v2'  # has BN in its heads
    sym = symbols.get_symbol(name, 'train')
    batch = _rnet_batch(32)
    weights = []
    for ctxs, micro, lr in (([mx.cpu(0), mx.cpu(1)], 0, 0.05), ([mx.cpu(0)], 16, 0.1)):
        arg, aux = init_params(sym, (1, 3, 24, 24), seed=1, prelu_init=1.0)
        net = make_block(sym, arg, aux, ctxs)
        micro = use_micro_batches(net, micro, 32)
        trainer = mx.gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': lr, 'momentum': 0.9},
                                   update_on_kvstore=False)
        for _ in range(2):  # the second step checks the accumulators were zeroed
            out = train_step(LossGraph(net, 'rnet', False, loss_config(True, 'l2')), trainer, batch, ctxs, micro=micro)
        assert len(out) == 2 and len(out[0][2]['data']) == 16
        weights.append({k: p.data(ctxs[0]).asnumpy() for k, p in net.collect_params().items()})
    for k in weights[0]:  # BN moving statistics differ (per device vs updated by each chunk)
        if 'moving' in k:
            continue
        np.testing.assert_allclose(weights[0][k], weights[1][k], rtol=1e-5, atol=1e-6, err_msg=k)
    assert micro_batch_size(48, mx.cpu()) == 32 and micro_batch_size(20, mx.cpu()) == 0
    assert micro_batch_size(48, mx.gpu(0)) == 0


def _tiny_data(tmp_path, n=8):
    import cv2
    rng = np.random.RandomState(0)
    lines = []
    for i in range(n):
        img = rng.randint(0, 255, (120, 160, 3)).astype(np.uint8)
        cv2.rectangle(img, (40, 30), (100, 100), (255, 255, 255), -1)
        cv2.circle(img, (70, 65), 20, (0, 0, 0), -1)
        p = str(tmp_path / ('i%d.jpg' % i))
        cv2.imwrite(p, img)
        lines.append('%s 40 30 100 100' % p)
    (tmp_path / 'anno.txt').write_text('\n'.join(lines) + '\n')
    from prepare_data.gen_data import generate
    from prepare_data.gen_imglist import assemble
    generate(str(tmp_path / 'anno.txt'), 20, str(tmp_path / 's'), min_face=20)
    assemble(str(tmp_path / 's' / '20'), str(tmp_path / 'train.txt'))
    return str(tmp_path / 'train.txt')


def test_worker_loader_equals_in_process_and_reports_errors(tmp_path):
    lst = _tiny_data(tmp_path)
    maker = D.BatchMaker(D.SampleSource(D.read_sample_list(lst), 20))
    ref = [dict((k, v.copy()) for k, v in b.items()) for b in D.Loader(maker, 16, 3, 0).batches(1)]
    loader = D.Loader(maker, 16, 3, workers=2, prefetch=1)
    try:
        for _ in range(2):  # second pass reuses the workers and slots
            got = [dict((k, v.copy()) for k, v in b.items()) for b in loader.batches(1)]
            assert len(got) == len(ref) > 3
            for a, b in zip(ref, got):
                for k in a:
                    np.testing.assert_array_equal(a[k], b[k])
        first = next(loader.batches(2))  # an abandoned epoch leaves the pool usable
        assert first['data'].shape == (16, 3, 20, 20)
        assert len(list(loader.batches(0))) == len(ref)
    finally:
        loader.close()
    bad = D.Loader(D.BatchMaker(D.SampleSource(D.read_sample_list(lst), 24)), 16, 0, workers=1)  # wrong size
    try:
        with pytest.raises(D.DataError, match='expected 24x24'):
            list(bad.batches(0))
    finally:
        bad.close()


def _run(args):
    return subprocess.run([sys.executable, 'train_P20.py'] + args + ['--quiet', '--workers', '0'], cwd=REPO,
                          capture_output=True, text=True)


def test_short_training_loss_falls_and_checkpoints_load(tmp_path):
    lst = _tiny_data(tmp_path)
    prefix = str(tmp_path / 'm' / 'pnet')
    r = _run(['--network', 'Pnet20_v1', '--image_set', lst, '--prefix', prefix, '--end_epoch', '4',
              '--lr', '0.01', '--lr_epoch', '100', '--batch_size', '64', '--frequent', '1000'])
    assert r.returncode == 0, r.stderr[-2000:]
    import csv
    rows = [row for row in csv.DictReader(open(prefix + '-metrics.csv')) if row['phase'] == 'train_epoch']
    losses = [float(row['loss']) for row in rows]
    assert len(losses) == 4 and losses[-1] < losses[0]
    for f in ('-symbol.json', '-0004.params', '-0004.states', '-curves.png'):
        assert os.path.exists(prefix + f)
    model = load_model(prefix, 4)
    assert model.network == 'Pnet20_v1'
    assert 'Custom' not in open(prefix + '-symbol.json').read()
    arg, aux = load_params(prefix + '-0004.params')
    assert 'conv1_weight' in arg and 'bn4_1_moving_mean' in aux


def test_resume_is_exact(tmp_path):
    # interrupted and continued with the same settings = uninterrupted, also across an lr milestone
    lst = _tiny_data(tmp_path)
    common = ['--network', 'Pnet20_v0', '--image_set', lst, '--lr', '0.02', '--lr_epoch', '1,3',
              '--batch_size', '64', '--frequent', '1000', '--seed', '3']
    a = str(tmp_path / 'a' / 'p')
    assert _run(common + ['--prefix', a, '--end_epoch', '4']).returncode == 0
    b = str(tmp_path / 'b' / 'p')
    assert _run(common + ['--prefix', b, '--end_epoch', '2']).returncode == 0
    r = _run(common + ['--prefix', b, '--end_epoch', '4', '--resume', '--begin_epoch', '2'])
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'continuing the optimizer of epoch 2' in r.stderr
    for e in (3, 4):
        pa, _ = load_params(a + '-%04d.params' % e)
        pb, _ = load_params(b + '-%04d.params' % e)
        for k in pa:
            np.testing.assert_array_equal(pa[k].asnumpy(), pb[k].asnumpy(), err_msg='%s epoch %d' % (k, e))
    assert [_lr_of_epoch(b, e) for e in (1, 2, 3, 4)] == pytest.approx([0.02, 0.002, 0.002, 0.0002])


def test_bad_lists_give_clear_errors(tmp_path):
    bad = tmp_path / 'l.txt'
    for text, message in (('a 7\n', 'l.txt:1: unknown label code 7'), ('a\n', 'l.txt:1: truncated'),
                          ('a 1 0.1\n', 'label 1 needs 4 values'), ('a 1 0.1 0.1 nan 0.1\n', 'l.txt:1: non-finite')):
        bad.write_text(text)
        with pytest.raises(ValueError, match=message):  # DataError / FormatError, both ValueErrors
            D.read_sample_list(str(bad))
    r = _run(['--image_set', str(tmp_path / 'none.txt'), '--prefix', str(tmp_path / 'x')])
    assert r.returncode == 2 and 'none.txt' in r.stderr


def test_dist_sync_two_workers_end_identical(tmp_path):
    lst = _tiny_data(tmp_path)
    prefix = str(tmp_path / 'd' / 'p{rank}')  # {rank}: every worker saves its own checkpoint
    cmd = [sys.executable, os.path.join(REPO, 'tools', 'launch.py'), '-n', '2', '-s', '1', '--',
           sys.executable, os.path.join(REPO, 'train_P20.py'), '--network', 'Pnet20_v1', '--image_set', lst,
           '--prefix', prefix, '--end_epoch', '1', '--batch_size', '32', '--kvstore', 'dist_sync',
           '--workers', '0', '--quiet', '--val_ratio', '0']
    r = subprocess.run(cmd, cwd=str(tmp_path), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-1000:] + r.stderr[-2000:]
    w0, w1 = (mx.nd.load(prefix.replace('{rank}', str(i)) + '-0001.params') for i in (0, 1))
    learnable = [k for k in w0 if 'moving' not in k]  # BN statistics are per worker
    assert learnable
    for k in learnable:
        np.testing.assert_array_equal(w0[k].asnumpy(), w1[k].asnumpy())


def _lr_of_epoch(prefix, epoch):
    import csv
    rows = [r for r in csv.DictReader(open(prefix + '-metrics.csv')) if r['phase'] == 'train_epoch']
    return {int(r['epoch']): float(r['lr']) for r in rows}[epoch]


def test_second_stage_with_a_new_lr_starts_a_fresh_optimizer(tmp_path):
    # the original's two-phase .bat recipes: phase 2 resumes the weights with a new lr/batch
    lst = _tiny_data(tmp_path)
    prefix = str(tmp_path / 'm' / 'p')
    common = ['--network', 'Pnet20_v0', '--image_set', lst, '--prefix', prefix, '--lr_epoch', '100',
              '--batch_size', '64', '--frequent', '1000']
    assert _run(common + ['--lr', '0.01', '--end_epoch', '1']).returncode == 0
    r = _run(common + ['--lr', '0.001', '--resume', '--begin_epoch', '1', '--end_epoch', '2'])
    assert r.returncode == 0, r.stderr[-2000:]
    assert _lr_of_epoch(prefix, 1) == 0.01 and _lr_of_epoch(prefix, 2) == 0.001
    assert 'optimizer: fresh SGD from the loaded weights, settings changed (lr 0.01 -> 0.001)' in r.stderr
    # the same settings continue the optimizer (the exact-resume test checks the weights)
    r = _run(common + ['--lr', '0.001', '--resume', '--begin_epoch', '1', '--end_epoch', '2', '--batch_size', '64'])
    assert 'optimizer: fresh SGD' in r.stderr  # the epoch-1 state belongs to lr 0.01
    r = _run(common + ['--lr', '0.001', '--resume', '--begin_epoch', '2', '--end_epoch', '3'])
    assert 'optimizer: continuing the optimizer of epoch 2' in r.stderr
    # --resume with nothing left to do says so and succeeds
    r = _run(common + ['--resume', '--begin_epoch', '3', '--end_epoch', '3'])
    assert r.returncode == 0 and 'nothing to do' in r.stdout
    r = _run(common + ['--phase', '1', '--resume', '--begin_epoch', '7', '--end_epoch', '9'])
    assert r.returncode == 2 and 'no checkpoint of epoch 7 (epochs found: 1, 2, 3)' in r.stderr


def test_optimizer_state_is_never_unpickled(tmp_path):
    # a pickled .states (what MXNet's Trainer.save_states writes) that would run code when loaded
    import pickle
    lst = _tiny_data(tmp_path)
    prefix = str(tmp_path / 'm' / 'p')
    common = ['--network', 'Pnet20_v0', '--image_set', lst, '--prefix', prefix, '--lr', '0.01',
              '--lr_epoch', '100', '--batch_size', '64', '--frequent', '1000']
    assert _run(common + ['--end_epoch', '1']).returncode == 0
    marker = tmp_path / 'pwned'

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), 'w'))
    with open(prefix + '-0001.states', 'wb') as f:
        pickle.dump(Payload(), f)
    r = _run(common + ['--resume', '--begin_epoch', '1', '--end_epoch', '2'])
    assert r.returncode == 2 and 'not an optimizer state written by this toolkit' in r.stderr
    assert not marker.exists()
    # --pretrained never reads optimizer state: a fine-tune from that prefix ignores the file
    other = str(tmp_path / 'o' / 'p')
    r = _run(common[:4] + ['--prefix', other] + common[6:] + ['--pretrained', prefix, '--epoch', '1',
                                                               '--end_epoch', '1'])
    assert r.returncode == 0, r.stderr[-2000:]
    assert not marker.exists()


def test_state_files_hold_arrays_and_json(tmp_path):
    from core.train.optim import read_state
    lst = _tiny_data(tmp_path)
    prefix = str(tmp_path / 'm' / 'p')
    assert _run(['--network', 'Pnet20_v0', '--image_set', lst, '--prefix', prefix, '--end_epoch', '1',
                 '--lr', '0.02', '--batch_size', '64']).returncode == 0
    meta, states = read_state(prefix + '-0001.states')
    assert meta['epoch'] == 1 and meta['settings']['lr'] == 0.02 and meta['num_update'] > 0
    assert len(states['conv1_weight']) == 1 and 'conv1_bias' in states  # SGD: the momentum
    # weight decay only on weights and gammas, as the original's Module SGD
    from core.train.optim import decays
    assert decays('conv1_weight') and decays('prelu1_gamma') and not decays('conv1_bias') and not decays('bn1_beta')


def test_adam_saves_and_resumes_exactly(tmp_path):
    from core.train.optim import read_state
    lst = _tiny_data(tmp_path)
    common = ['--network', 'Pnet20_v0', '--image_set', lst, '--lr', '0.001', '--lr_epoch', '2', '--batch_size', '64',
              '--optimizer', 'adam', '--seed', '2']
    a, b = str(tmp_path / 'a' / 'p'), str(tmp_path / 'b' / 'p')
    assert _run(common + ['--prefix', a, '--end_epoch', '3']).returncode == 0
    assert _run(common + ['--prefix', b, '--end_epoch', '1']).returncode == 0
    meta, states = read_state(b + '-0001.states')
    assert meta['settings']['optimizer'] == 'adam' and len(states['conv1_weight']) == 2  # both moments
    r = _run(common + ['--prefix', b, '--end_epoch', '3', '--resume', '--begin_epoch', 'last'])
    assert r.returncode == 0 and 'continuing the optimizer of epoch 1' in r.stderr, r.stderr[-2000:]
    pa, _ = load_params(a + '-0003.params')
    pb, _ = load_params(b + '-0003.params')
    for k in pa:
        np.testing.assert_array_equal(pa[k].asnumpy(), pb[k].asnumpy(), err_msg=k)
    r = _run(common[:-4] + ['--prefix', b, '--end_epoch', '4', '--resume', '--begin_epoch', 'last'])  # now SGD
    assert r.returncode == 0 and 'fresh SGD from the loaded weights, settings changed (optimizer adam -> None)' in r.stderr, r.stderr[-2000:]


def test_typical_command_line_mistakes_get_messages(tmp_path):
    lst = _tiny_data(tmp_path)
    common = ['--image_set', lst, '--prefix', str(tmp_path / 'p'), '--end_epoch', '1', '--batch_size', '64']
    r = _run(common + ['--network', 'Rnet_v1'])  # a Pnet script given an Rnet
    assert r.returncode == 2 and 'train_P20.py trains Pnet20 networks; Rnet_v1 is a rnet net (use train_R.py)' in r.stderr
    r = _run(common + ['--network', 'pnet21_v1'])
    assert r.returncode == 2 and "unknown network 'pnet21_v1'; did you mean Pnet20_v1" in r.stderr
    assert 'Traceback' not in r.stderr
    r = _run(common + ['--network', 'pnet20_v1'])  # the original's file name, any case
    assert r.returncode == 0, r.stderr[-1000:]
    r = _run(common + ['--gpus', '0'])  # a GPU on a CPU-only MXNet build
    assert r.returncode == 2 and 'CPU-only build' in r.stderr and 'Traceback' not in r.stderr
    r = _run(common + ['--resume'])  # nothing saved at --begin_epoch 0 and no --pretrained
    assert r.returncode == 2 and 'nothing to resume from' in r.stderr


def test_the_one_pass_prelu_computes_the_decomposition():
    """The training graph's PReLU operator (core/train/fused_ops.py): the same outputs and gradients as
    ``x + (γ − 1)·min(x, 0)``, on conv maps and on FC outputs."""
    from core.train import fused_ops
    if not fused_ops.load():
        pytest.skip('the operator could not be built here (no C++ compiler)')
    rng = np.random.RandomState(0)
    for shape in ((6, 16, 9, 11), (6, 32), (3, 5, 1, 1)):
        x, g, dy = (nd.array(v) for v in (rng.randn(*shape), rng.uniform(-0.3, 1.5, shape[1]), rng.randn(*shape)))
        grads = []
        for fused in (True, False):
            xi, gi = x.copy(), g.copy()
            xi.attach_grad()
            gi.attach_grad()
            with mx.autograd.record():
                if fused:
                    y = nd.mtcnn_prelu(xi, gi)
                else:
                    y = xi + nd.broadcast_mul((gi - 1).reshape((1, -1) + (1,) * (len(shape) - 2)), nd.minimum(xi, 0))
            y.backward(dy)
            grads.append((y.asnumpy(), xi.grad.asnumpy(), gi.grad.asnumpy()))
        for a, b in zip(*grads):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('fused', [True, False])
def test_micro_batches_with_either_prelu_step_like_the_decomposition(fused, monkeypatch):
    """Micro-batches accumulate every gradient, the PReLU slopes' included, with the one-pass operator as
    with the decomposition: an Rnet (BN heads) stepped three times in chunks of 16 ends with the same weights
    either way, and like two devices (the test above, whichever PReLU is loaded)."""
    from core.train import fused_ops
    if not fused_ops.load():
        pytest.skip('the operator could not be built here (no C++ compiler)')
    batch = _rnet_batch(32)
    weights = []
    for use_fused in (fused, False):
        with monkeypatch.context() as mp:
            if not use_fused:
                mp.delattr(mx.sym, 'mtcnn_prelu')
            sym = symbols.get_symbol('Rnet_v2', 'train')
        assert ('mtcnn_prelu' in sym.tojson()) == use_fused
        arg, aux = init_params(sym, (1, 3, 24, 24), seed=1, prelu_init=0.25)
        net = make_block(sym, arg, aux, [mx.cpu()])
        micro = use_micro_batches(net, 16, 32)
        trainer = mx.gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1, 'momentum': 0.9},
                                   update_on_kvstore=False)
        for _ in range(3):
            train_step(LossGraph(net, 'rnet', False, loss_config(True, 'l2')), trainer, batch, [mx.cpu()], micro=micro)
        weights.append({k: p.data().asnumpy() for k, p in net.collect_params().items()})
    for k in weights[0]:
        np.testing.assert_allclose(weights[0][k], weights[1][k], rtol=1e-3, atol=1e-4, err_msg=k)


def test_gpu_training_graphs_use_the_decomposition():
    """``mtcnn_prelu`` is a CPU operator: a run on GPUs builds its training graph with the decomposition even
    where the operator is loaded, and the two forms are one function of the same parameters."""
    from core.train import fused_ops
    assert fused_ops.training_prelu(gpu=True) == 'decomposed'
    loaded = fused_ops.load()
    assert fused_ops.training_prelu(gpu=False) == ('fused' if loaded else 'decomposed')
    gpu = symbols.get_symbol('Onet_v1', 'train', train_prelu='decomposed')
    assert 'mtcnn_prelu' not in gpu.tojson()
    with pytest.raises(ValueError, match='PReLU form'):
        symbols.get_symbol('Onet_v1', 'train', train_prelu='prelu')
    if not loaded:
        return
    cpu = symbols.get_symbol('Onet_v1', 'train', train_prelu='fused')
    assert cpu.list_arguments() == gpu.list_arguments()
    x = nd.array(np.random.RandomState(0).uniform(-1, 1, (4, 3, 48, 48)))
    arg, aux = init_params(cpu, (1, 3, 48, 48), seed=0, prelu_init=0.25)
    outs = [make_block(sym, arg, aux, [mx.cpu()])(x) for sym in (cpu, gpu)]
    for a, b in zip(*outs):
        np.testing.assert_allclose(a.asnumpy(), b.asnumpy(), rtol=1e-5, atol=1e-5)


def _losses(prefix):
    import csv
    return [float(r['loss']) for r in csv.DictReader(open(prefix + '-metrics.csv')) if r['phase'] == 'train']


def test_training_losses_are_those_of_the_decomposed_prelu(tmp_path):
    """A Pnet with the one-pass PReLU and with the decomposition: the same losses to float tolerance over
    the first 100 steps (float rounding then drifts, as between any two summation orders)."""
    lst = _tiny_data(tmp_path, 40)
    runs = []
    for mode in ('1', '0'):
        prefix = str(tmp_path / mode / 'p')
        r = subprocess.run([sys.executable, 'train_P20.py', '--network', 'Pnet20_v1', '--image_set', lst, '--prefix',
                            prefix, '--end_epoch', '3', '--lr', '0.01', '--batch_size', '64', '--frequent', '5',
                            '--quiet', '--workers', '0'], cwd=REPO, capture_output=True, text=True,
                           env=dict(os.environ, MTCNN_FUSED_PRELU=mode))
        assert r.returncode == 0, r.stderr[-2000:]
        runs.append(_losses(prefix))
    assert len(runs[0]) >= 20
    np.testing.assert_allclose(runs[0][:20], runs[1][:20], rtol=1e-4)  # the first 100 steps (logged every 5)


def test_compute_threads_are_the_cores_the_loader_leaves(monkeypatch):
    """The trainer's OpenMP threads: --threads, else OMP_NUM_THREADS, else the cores the loader workers
    leave (at least one); set before MXNet loads, and the choice is logged."""
    from core.train import threads
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    assert threads.choose(0, 2, cores=2) == (1, '2 cores - 2 loader workers')
    assert threads.choose(0, 0, cores=2)[0] == 2
    assert threads.choose(0, 2, cores=16)[0] == 14
    assert threads.choose(3, 2, cores=2) == (3, '--threads')
    monkeypatch.setenv('OMP_NUM_THREADS', '4')
    assert threads.choose(0, 2, cores=2) == (4, 'OMP_NUM_THREADS')
    import subprocess
    import sys
    code = ('import os, sys; from core.train import threads; threads.apply(0, 1); import mxnet; '
            'print(os.environ["OMP_NUM_THREADS"], threads.describe())')
    env = {k: v for k, v in os.environ.items() if k != 'OMP_NUM_THREADS'}
    out = subprocess.run([sys.executable, '-c', code], cwd=REPO, env=env, capture_output=True, text=True).stdout
    n = max(1, (os.cpu_count() or 1) - 1)
    assert out.split()[0] == str(n) and 'compute threads: %d (' % n in out


def test_bn_momentum_changes_the_stored_statistics_only():
    """bn_momentum rewrites the training graph's BatchNorm momentum: one step from the same start gives the
    same weights, and each moving statistic is m·start + (1 − m)·the batch's (the same batch statistic
    recovered from both)."""
    import symbols
    from core.train.trainer import LossGraph, init_params, loss_config, make_block, train_step, with_bn_momentum
    batch = _rnet_batch(16)
    import json
    plain = symbols.get_symbol('Rnet_v2', 'train')
    out = {}
    for m in (0.9, 0.99):
        sym = with_bn_momentum(plain, m)
        bns = [n for n in json.loads(sym.tojson())['nodes'] if n['op'] == 'BatchNorm']
        assert len(bns) == 2 and all(float(n['attrs']['momentum']) == m for n in bns)
        arg, aux = init_params(sym, (1, 3, 24, 24), seed=1, prelu_init=1.0)
        start = {k: v.asnumpy() for k, v in aux.items()}
        net = make_block(sym, arg, aux, [mx.cpu()])
        trainer = mx.gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1}, update_on_kvstore=False)
        train_step(LossGraph(net, 'rnet', False, loss_config(True, 'l2')), trainer, batch, [mx.cpu()])
        out[m] = {k: p.data().asnumpy() for k, p in net.collect_params().items()}, start
    (w9, s9), (w99, s99) = out[0.9], out[0.99]
    for k in w9:
        if 'moving' in k:
            np.testing.assert_allclose((w9[k] - 0.9 * s9[k]) / 0.1, (w99[k] - 0.99 * s99[k]) / 0.01, rtol=2e-3,
                                       atol=2e-4, err_msg=k)
            assert not np.allclose(w9[k], w99[k])
        else:
            np.testing.assert_array_equal(w9[k], w99[k], err_msg=k)
