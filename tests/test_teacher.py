"""Distillation: teacher rows (computed once, cached, resumable), their mirroring, the distillation
losses, and a training run with a teacher."""
import os
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest
from easydict import EasyDict

from conftest import REPO, shared_path
from core.common.errors import SettingError
from core.train import batches as D
from core.train import teacher as T
from core.train.losses import stage_losses
from core.train.trainer import loss_config
from test_train import _tiny_data


def test_teacher_rows_are_cached_and_an_interrupted_pass_resumes(tmp_path, monkeypatch):
    folder = shared_path('models', 'caffe-mtcnn')
    lst = _tiny_data(tmp_path)
    entries = D.read_sample_list(lst)
    rows = T.teacher_targets(entries, 20, 'caffe:' + folder, 'pnet', lst, batch=64, progress=False)
    assert rows.shape == (len(entries), T.ROW) and rows.dtype == np.float32
    assert np.all((rows[:, 0] >= 0) & (rows[:, 0] <= 1)) and np.isfinite(rows[:, 1:5]).all()
    assert np.isnan(rows[:, 5:]).all()  # det1 has no points head
    codes = entries.code
    assert rows[codes == 1, 0].mean() > rows[codes == 0, 0].mean()  # the teacher sees the faces
    cached = [p for p in os.listdir(str(tmp_path)) if '.teacher-' in p]
    assert len(cached) == 1 and cached[0].endswith('.npy')

    said = []
    again = T.teacher_targets(entries, 20, 'caffe:' + folder, 'pnet', lst, log=said.append, progress=False)
    np.testing.assert_array_equal(again, rows)
    assert 'rows from' in said[0]

    # a pass stopped after its first chunk continues from there and ends with the same rows
    os.remove(str(tmp_path / cached[0]))
    monkeypatch.setattr(T, 'CHUNK', 100)
    real, calls = T.teacher_rows, []

    def stopping(teacher, crops):
        calls.append(len(crops))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(teacher, crops)
    monkeypatch.setattr(T, 'teacher_rows', stopping)
    with pytest.raises(KeyboardInterrupt):
        T.teacher_targets(entries, 20, 'caffe:' + folder, 'pnet', lst, batch=50, progress=False)
    assert T.load_json(str(tmp_path / cached[0]) + '.partial.json')['done'] == 100
    monkeypatch.setattr(T, 'teacher_rows', real)
    resumed = T.teacher_targets(entries, 20, 'caffe:' + folder, 'pnet', lst, batch=50, progress=False)
    np.testing.assert_allclose(resumed, rows, rtol=1e-5, atol=1e-6)
    assert sorted(p for p in os.listdir(str(tmp_path)) if '.teacher-' in p) == cached  # no partial files left


def test_onet_teacher_gives_points_and_mirrored_rows_match_mirrored_crops():
    folder = shared_path('models', 'caffe-mtcnn')
    teacher = T.open_teacher('caffe:' + folder, 'onet')
    rng = np.random.RandomState(0)
    crops = rng.randint(0, 255, (6, 48, 48, 3)).astype(np.uint8)
    import cv2
    for c in crops:
        cv2.circle(c, (24, 24), 14, (200, 180, 160), -1)
    rows = T.teacher_rows(teacher, crops)
    assert np.isfinite(rows).all()
    flags = np.array([1, 0, 1, 0, 1, 0], bool)
    mirrored = T.mirror_rows(rows, flags)
    np.testing.assert_array_equal(mirrored[~flags], rows[~flags])
    np.testing.assert_allclose(T.mirror_rows(mirrored, flags), rows, atol=1e-6)
    # the teacher's rows on mirrored crops are (close to) the mirrored rows: box offsets and points
    direct = T.teacher_rows(teacher, np.ascontiguousarray(crops[:, :, ::-1]))
    np.testing.assert_allclose(direct[:, 1:], T.mirror_rows(rows, np.ones(6, bool))[:, 1:], atol=0.15)
    x = T.teacher_input(np.r_[rows[:1], np.full((1, T.ROW), np.nan, np.float32)])
    assert x.shape == (2, T.TEACHER_WIDTH) and np.isfinite(x).all()
    assert x[0, 0] == 1 and x[0, 6] == 1 and x[1, 0] == 0 and not x[1].any()


def test_bad_teachers_get_messages(tmp_path):
    with pytest.raises(SettingError, match='not found'):
        T.open_teacher('caffe:' + str(tmp_path), 'rnet')
    with pytest.raises(SettingError, match='prefix'):
        T.open_teacher('model/none', 'rnet')
    with pytest.raises(SettingError, match='not found'):
        T.open_teacher(str(tmp_path / 'none') + ':3', 'rnet')
    with pytest.raises(SettingError, match='Pnets, Rnets and Onets'):
        T.open_teacher('caffe', 'lnet')


def _batch(n, seed=0):
    rng = np.random.RandomState(seed)
    codes = rng.choice([1, 0, -1, -2], n).astype(np.float32)
    rows = np.c_[rng.uniform(0.01, 0.99, n), rng.normal(0, 0.2, (n, 4)), rng.uniform(0, 1, (n, 10))].astype(np.float32)
    return dict(label=mx.nd.array(np.where(codes == -2, -1, codes)), type_label=mx.nd.array(codes),
                bbox_target=mx.nd.array(rng.normal(0, 0.2, (n, 4))), landmark_target=mx.nd.array(rng.uniform(0, 1, (n, 10))),
                teacher=mx.nd.array(T.teacher_input(rows))), rows, codes


def test_distillation_losses():
    n = 32
    batch, rows, codes = _batch(n)
    rng = np.random.RandomState(1)
    logits = mx.nd.array(rng.normal(0, 1, (n, 2)))
    box, pts = mx.nd.array(rng.normal(0, 0.2, (n, 4))), mx.nd.array(rng.uniform(0, 1, (n, 10)))
    plain = loss_config(False, 'l2')
    ref, _ = stage_losses([logits, box, pts], dict(batch, teacher=None), 'onet', plain, True)
    off, _ = stage_losses([logits, box, pts], batch, 'onet', loss_config(False, 'l2', teacher=(0.0, 2.0, True)), True)
    assert abs(off.asscalar() - ref.asscalar()) < 1e-5  # weight 0: the plain loss
    for temp in (1.0, 2.0):
        cfg = loss_config(False, 'l2', teacher=(1.0, temp, True))
        total, parts = stage_losses([logits, box, pts], batch, 'onet', cfg, True)
        # numpy: T²·KL(q_T ‖ p_T) over all rows, squared box error on positives and parts, points on positives
        z = np.log(rows[:, 0]) - np.log(1 - rows[:, 0])
        q1 = 1 / (1 + np.exp(-z / temp))
        q = np.c_[1 - q1, q1]
        s = logits.asnumpy() / temp
        logp = s - np.log(np.exp(s).sum(1, keepdims=True))
        kd = temp ** 2 * (q * (np.log(q) - logp)).sum(1).mean()
        sel = np.abs(codes) == 1
        bx = cfg.bbox_weight * ((box.asnumpy() - rows[:, 1:5]) ** 2).sum(1)[sel].mean()
        pos = codes == 1
        pt = cfg.landmark_weight * ((pts.asnumpy() - rows[:, 5:]) ** 2).sum(1)[pos].mean()
        lm_hard = stage_losses([logits, box, pts], dict(batch, teacher=None), 'onet', plain, True)[1]['landmark'][0]
        expect = cfg.cls_weight * kd + bx + pt + lm_hard.asscalar()
        assert abs(total.asscalar() - expect) < 1e-4 * max(1, abs(expect)), (temp, total.asscalar(), expect)
        assert abs(parts['teacher'][0].asscalar() - kd) < 1e-5
        # without boxes: the teacher's face probability only (the boxes learn the hard targets alone)
        only, _ = stage_losses([logits, box, pts], batch, 'onet', loss_config(False, 'l2', teacher=(1.0, temp, False)), True)
        box_hard = stage_losses([logits, box, pts], dict(batch, teacher=None), 'onet', plain, True)[1]['bbox'][0]
        assert abs(only.asscalar() - (cfg.cls_weight * kd + box_hard.asscalar() + lm_hard.asscalar())) < 1e-4


def test_training_with_a_checkpoint_teacher_logs_the_distillation(tmp_path):
    lst = _tiny_data(tmp_path)
    run = [sys.executable, 'train_P20.py', '--network', 'Pnet20_v1', '--image_set', lst, '--end_epoch', '1',
           '--lr', '0.01', '--lr_epoch', '100', '--batch_size', '64', '--quiet', '--workers', '0']
    r = subprocess.run(run + ['--prefix', str(tmp_path / 't' / 'pnet')], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    r = subprocess.run(run + ['--prefix', str(tmp_path / 's' / 'pnet'), '--teacher', str(tmp_path / 't' / 'pnet') + ':1',
                              '--teacher_weight', '0.7', '--teacher_temperature', '2'],
                       cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'distillation: teacher %s:1, weight 0.7, temperature 2, face probability only' \
        % (tmp_path / 't' / 'pnet') in r.stderr
    assert 'Train-kd=' in r.stderr and 'cached in' in r.stderr
    r = subprocess.run(run + ['--prefix', str(tmp_path / 'x' / 'pnet'), '--teacher', 'caffe:/nowhere'],
                       cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 2 and 'det1.prototxt not found' in r.stderr and 'Traceback' not in r.stderr


def test_the_distill_recipe_is_the_default_with_every_stage_taught_and_the_onet_mirrored():
    import dataclasses
    from core.recipes.pipeline_recipe import DEFAULT_RECIPE, RECIPES, load_recipe
    default, distill = load_recipe(DEFAULT_RECIPE), load_recipe(os.path.join(RECIPES, 'distill.json'))
    for stage in ('p', 'ph', 'r', 'o'):
        taught, plain = getattr(distill, stage).train, getattr(default, stage).train
        assert taught.teacher == 'caffe' and plain.teacher == ''
        assert taught.flip and plain.flip == (stage != 'o')  # the default recipe turns only the Onet's off
        assert dataclasses.replace(taught, teacher='', teacher_weight=plain.teacher_weight, flip=plain.flip,
                                   teacher_temperature=plain.teacher_temperature, teacher_box=plain.teacher_box) == plain


def test_a_damaged_cache_is_computed_again(tmp_path):
    folder = shared_path('models', 'caffe-mtcnn')
    lst = _tiny_data(tmp_path, n=3)
    entries = D.read_sample_list(lst)
    rows = T.teacher_targets(entries, 20, 'caffe:' + folder, 'pnet', lst, progress=False)
    path = T.cache_path(lst, T.open_teacher('caffe:' + folder, 'pnet'))
    with open(path, 'r+b') as f:
        f.truncate(100)
    said = []
    again = T.teacher_targets(entries, 20, 'caffe:' + folder, 'pnet', lst, log=said.append, progress=False)
    np.testing.assert_array_equal(again, rows)
    assert 'computed again' in said[0]


def test_inspect_teacher_reports_what_the_teacher_calls_faces(tmp_path):
    folder = shared_path('models', 'caffe-mtcnn')
    lst = _tiny_data(tmp_path, n=4)
    r = subprocess.run([sys.executable, 'tools/inspect_teacher.py', '--image_set', lst, '--size', '20', '--kind', 'pnet',
                        '--teacher', 'caffe:' + folder], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.strip().splitlines()
    assert lines[0].startswith('positives') and any(line.startswith('negatives') for line in lines)
    assert 'box offsets of' in r.stdout
    last = dict(kv.split('=') for kv in lines[-1].split())
    assert 0 <= float(last['parts_called_faces']) <= 1 and -1 <= float(last['box_corr']) <= 1
    from tools.inspect_teacher import box_agreement
    hard = np.random.RandomState(0).normal(0, 0.1, (100, 4))
    corr, diff, scale = box_agreement(hard, hard * 2)
    np.testing.assert_allclose(corr, 1, atol=1e-9)
    np.testing.assert_allclose(diff, scale)


def test_a_teacher_ranks_a_packed_mined_pool_with_scores_cached_beside_it(tmp_path):
    import shutil
    from prepare_data.gen_imglist import main, ranked_pick, teacher_pool_scores
    models = shared_path('models', 'caffe-mtcnn')
    lst = _tiny_data(tmp_path, n=3)
    folder = tmp_path / 's' / '20'
    for ext in ('rec', 'idx'):  # the part crops stand in for a mined pool
        shutil.copy(str(folder / ('part.' + ext)), str(folder / ('neg_hard.' + ext)))
    entries = D.read_sample_list(lst)
    parts = entries.take(np.flatnonzero(entries.code == -1))
    said = []
    got = teacher_pool_scores('caffe:' + models, 20, log=said.append)(str(folder), 'neg_hard', len(parts))
    want = T.teacher_targets(parts, 20, 'caffe:' + models, 'pnet', lst, progress=False)[:, 0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert got.max() - got.min() > 0.1  # scores that rank
    assert [p for p in os.listdir(str(folder)) if '.teacher-' in p][0].startswith('neg_hard.idx.teacher-')
    again = teacher_pool_scores('caffe:' + models, 20, log=said.append)(str(folder), 'neg_hard', len(parts))
    np.testing.assert_array_equal(again, got)
    assert 'rows from' in said[-1]  # the second list of the same pool reads the cache
    top, _ = ranked_pick(np.random.RandomState(0), got, 5, 1.0)
    assert set(top) == set(np.argsort(-got, kind='stable')[:5])
    with pytest.raises(SettingError, match='--size 36'):
        teacher_pool_scores('caffe:' + models, 36)
    with pytest.raises(SettingError, match='needs --with_hard'):
        main(['--size', '20', '--samples', str(tmp_path / 's'), '--out', str(tmp_path / 'l.txt'),
              '--hard_teacher', 'caffe:' + models])
