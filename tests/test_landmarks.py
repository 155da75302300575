"""Landmark pipelines: online and offline crops (5 and 106 points), the online batch maker with the
original's 106-point switches, the landmark trainers end to end, the point-order tool, the teacher
pseudo-labels and the detection protocol of tools/eval_landmarks.py."""
import os
import random
import subprocess
import sys

import cv2
import numpy as np
import pytest

from conftest import REPO, landmark_sublist, shared_path
from core.train import augment as A
from core.train import batches as D
from core.landmarks.points import JD_TO_MIGU, MIGU_TO_JD, read_landmark_list, reorder_106


def _run(args, env=None, timeout=900):
    return subprocess.run([sys.executable] + args, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


def _cuhk(n=None):
    return read_landmark_list(shared_path('data', 'landmarks5', 'new_training.txt'), 'cuhk')[:n]


def _face106(size=160, seed=0):
    """A synthetic image with 106 points spread over a face-sized region."""
    rng = np.random.RandomState(seed)
    img = rng.randint(0, 255, (size, size, 3)).astype(np.uint8)
    pts = np.c_[rng.uniform(50, 110, 106), rng.uniform(45, 120, 106)]
    return img, pts


def test_online_5_point_crops_keep_the_points_where_the_original_wants_them():
    rng = np.random.default_rng(0)
    for path, box, pts in _cuhk(40):
        img = cv2.imread(path)
        crop, norm = A.online_crop5(img, pts, 48, rng, box)
        assert crop.shape == (48, 48, 3)
        # at most 5 % outside left, right and bottom, and inside at the top (or the unrotated fallback)
        assert (norm[:, 0] > -0.1).all() and (norm[:, 0] < 1.1).all() and (norm[:, 1] < 1.1).all()


def test_offline_crops_one_angle_per_106_face_and_flips_only_when_asked():
    img, pts = _face106()
    crops = A.offline_crops106(img, pts, 48, random.Random(1), base_num=6)
    assert 1 <= len(crops) <= 6
    for crop, norm in crops:
        assert crop.shape == (48, 48, 3) and ((norm > 0.04) & (norm < 0.96)).all()  # every point 5 % inside
    # one rotation per face: the rotated point cloud has the same shape (pairwise distances / side) in every crop
    d = [np.linalg.norm(n[0] - n[50]) / np.linalg.norm(n[10] - n[90]) for _, n in crops]
    assert np.allclose(d, d[0], rtol=1e-6)
    flipped = A.offline_crops106(img, pts, 48, random.Random(1), base_num=6, flip=True)
    assert len(flipped) == len(crops) and any(not np.allclose(a[1], b[1]) for a, b in zip(crops, flipped))
    path, box, pts5 = _cuhk(1)[0]
    five = A.offline_crops5(cv2.imread(path), pts5, 48, random.Random(0), box, base_num=1, min_bs=10)
    assert len(five) >= 5  # 11 angles, one crop each when it fits


def test_online_106_switches_weighting_init_rotation_and_side_band(tmp_path):
    img, pts = _face106()
    cv2.imwrite(str(tmp_path / 'face106.png'), img)
    samples = [(str(tmp_path / 'face106.png'), None, pts)] * 4
    cfg = dict(landmark106_migu_weighting=True, landmark106_migu_init_rot=True, enable_black_border=True,
               enable_blur=False, enable_gray=False, enable_color_jitter=False, enable_gaussian_noise=False)
    plain = D.LandmarkOnlineMaker(samples, 48, 106, False, dict(cfg, landmark106_migu_weighting=False))
    weighted = D.LandmarkOnlineMaker(samples, 48, 106, False, cfg)
    a = plain(np.arange(4), np.random.default_rng(0))['landmark_target']
    b = weighted(np.arange(4), np.random.default_rng(0))['landmark_target']
    cols = np.stack([2 * A.WEIGHTED_106, 2 * A.WEIGHTED_106 + 1], 1).ravel()
    np.testing.assert_allclose(b[:, cols], 2 * a[:, cols], rtol=1e-6)  # eyebrows and lips doubled
    others = np.setdiff1d(np.arange(212), cols)
    np.testing.assert_allclose(b[:, others], a[:, others])
    train = D.LandmarkOnlineMaker(samples, 48, 106, True, cfg)(np.arange(4), np.random.default_rng(3))
    assert train['data'].shape == (4, 3, 48, 48) and np.isfinite(train['landmark_target']).all()
    band = A.side_border(np.zeros((48, 48, 3), np.uint8), np.random.default_rng(5))
    assert (band == 128).any() and ((band[:, 0] == 128).all() or (band[:, -1] == 128).all() or not (band == 128).any())


def test_point_order_tables_and_tool(tmp_path):
    assert sorted(JD_TO_MIGU) == list(range(106)) and (JD_TO_MIGU[MIGU_TO_JD] == np.arange(106)).all()
    pts = np.arange(212, dtype=float).reshape(106, 2)
    assert np.array_equal(reorder_106(reorder_106(pts, JD_TO_MIGU), MIGU_TO_JD), pts)
    assert reorder_106(pts, JD_TO_MIGU)[38, 0] == pts[42, 0]  # migu point 38 is JD point 42
    src = tmp_path / 'jd list.txt'
    src.write_text('a dir/img 1.jpg ' + ' '.join('%.1f' % v for v in pts.ravel()) + '\n')
    r = _run(['tools/convert_106_order.py', '--list', str(src), '--out', str(tmp_path / 'migu.txt')])
    assert r.returncode == 0, r.stderr
    line = open(tmp_path / 'migu.txt').read()
    assert line.startswith('a dir/img 1.jpg 0.0 1.0') and len(line.split()) == 215
    r = _run(['tools/convert_106_order.py', '--list', str(tmp_path / 'migu.txt'), '--out', str(tmp_path / 'back.txt'),
              '--to', 'jd'])
    assert open(tmp_path / 'back.txt').read() == src.read_text()


def test_seed_readme_106_workflow_with_landmark_img_set(tmp_path):
    """The original README's workflow: config.landmark_img_set = '106data_merge', the list under the
    imglists folder, the 106 script with --image_set 106data_merge; and the pseudo-label tool."""
    root = tmp_path / 'my root'
    images = root / 'data' / '106data_merge' / 'AFW'
    images.mkdir(parents=True)
    (root / 'data' / 'imglists').mkdir()
    lines = []
    for i in range(6):
        img, pts = _face106(seed=i)
        cv2.imwrite(str(images / ('f%d.jpg' % i)), img)
        lines.append('AFW/f%d.jpg ' % i + ' '.join('%.1f' % v for v in pts.ravel()))
    (root / 'data' / 'imglists' / '106data_merge.txt').write_text('\n'.join(lines) + '\n')
    env = dict(MTCNN_ROOT=str(root), MTCNN_LANDMARK_IMG_SET='106data_merge')
    r = subprocess.run(['bash', 'scripts/L_train_onlylandmark106.sh', '--image_set', '106data_merge', '--end_epoch', '1',
                        '--batch_size', '4', '--workers', '0', '--quiet', '--val_ratio', '0'], cwd=REPO,
                       capture_output=True, text=True, env=dict(os.environ, **env), timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert os.path.exists(root / 'model' / 'lnet106-0001.params')  # saved at the last epoch (save_every 10)


def test_landmark_trainers_and_the_teacher_labels(tmp_path):
    small = landmark_sublist(tmp_path / 'cuhk.txt', 'new_training.txt', 64)
    r = _run(['train_L.py', '--recipe', 'L_online', '--image_set', str(small), '--list_format', 'cuhk', '--prefix',
              str(tmp_path / 'lnet'), '--end_epoch', '2', '--lr', '0.01', '--lr_epoch', '100', '--batch_size', '16',
              '--workers', '0', '--quiet', '--save_every', '1'])
    assert r.returncode == 0, r.stderr[-2000:]
    r = _run(['tools/eval_landmarks.py', '--prefix', str(tmp_path / 'lnet'), '--epoch', '2', '--list', str(small),
              '--out', str(tmp_path / 'ev')])
    assert r.returncode == 0 and 'nme=' in r.stdout.splitlines()[-1], r.stderr[-2000:]
    assert os.path.exists(tmp_path / 'ev' / 'ced.png')
    # 106 points from the teacher, then the online and offline 106-point trainers
    teacher = shared_path('models', 'train-mtcnn', 'lnet106_112-symbol.json')[:-len('-symbol.json')]
    pseudo = str(tmp_path / 'pseudo106.txt')
    r = _run(['tools/pseudo_label106.py', '--list', str(small), '--out', pseudo, '--teacher', teacher, '--limit', '24'])
    assert r.returncode == 0, r.stderr[-2000:]
    assert all(len(ln.split()) == 213 for ln in open(pseudo).read().splitlines())
    r = _run(['train_L106.py', '--network', 'Lnet106_v2', '--image_set', pseudo, '--prefix', str(tmp_path / 'l106'),
              '--end_epoch', '1', '--batch_size', '8', '--workers', '0', '--quiet', '--val_ratio', '0'])
    assert r.returncode == 0, r.stderr[-2000:]
    r = _run(['prepare_data/gen_landmark.py', '--points', '106', '--list', pseudo, '--size', '48', '--base_num', '2',
              '--out', str(tmp_path / 's'), '--workers', '1'])
    assert r.returncode == 0, r.stderr[-2000:]
    r = _run(['prepare_data/gen_imglist.py', '--size', '48', '--classes', 'landmark106', '--samples', str(tmp_path / 's'),
              '--out', str(tmp_path / 'off.txt')])
    assert r.returncode == 0, r.stderr[-2000:]
    r = _run(['train_L106.py', '--recipe', 'L106_64_offline', '--network', 'Lnet106_v2', '--image_set',
              str(tmp_path / 'off.txt'), '--prefix', str(tmp_path / 'off'), '--resume', '--begin_epoch', '0',
              '--pretrained', str(tmp_path / 'l106'), '--epoch', '1', '--end_epoch', '1', '--batch_size', '8',
              '--workers', '0', '--quiet', '--val_ratio', '0'])
    assert r.returncode == 0, r.stderr[-2000:]


def test_detection_protocol_of_eval_landmarks(tmp_path):
    small = landmark_sublist(tmp_path / 'test.txt', 'new_testing.txt', 12)
    r = _run(['tools/eval_landmarks.py', '--detect', '--peer', 'caffe', '--list', str(small), '--out', str(tmp_path / 'o')])
    assert r.returncode == 0, r.stderr[-2000:]
    last = dict(kv.split('=') for kv in r.stdout.strip().splitlines()[-1].split())
    n, total = map(int, last['detected'].split('/'))
    assert total == 12 and n >= 10 and 0 < float(last['nme']) < 20
    # the median signed error line: labels moved by (2, 3) pixels move it by (-2, -3)
    from core.landmarks.points import shift_numbers
    from core.common.fileio import split_path
    moved = tmp_path / 'moved.txt'
    moved.write_text(''.join(' '.join([os.path.join(os.path.dirname(str(small)), name)] +
                                      shift_numbers(nums, 'cuhk', 2, 3)) + '\n'
                             for name, nums in (split_path(line) for line in open(small) if line.strip())))
    r2 = _run(['tools/eval_landmarks.py', '--detect', '--peer', 'caffe', '--list', str(moved), '--out', str(tmp_path / 'o2')])
    assert r2.returncode == 0, r2.stderr[-2000:]

    def offset(out):
        line = [s for s in out.splitlines() if s.startswith('median signed error')][0].split()
        return np.array([float(line[-4]), float(line[-2])])
    np.testing.assert_allclose(offset(r2.stdout), offset(r.stdout) - [2, 3], atol=0.011)


def test_eval_landmarks_compares_with_the_caffe_mtcnn_on_the_same_faces(tmp_path):
    """--compare caffe: the default cascade's line stays last; the Caffe MTCNN's NME on the same faces and
    the NME per pose bin are printed, and both curves go on the CED."""
    small = landmark_sublist(tmp_path / 'test.txt', 'new_testing.txt', 6)
    r = _run(['tools/eval_landmarks.py', '--detect', '--compare', 'caffe', '--list', str(small), '--backend', 'onnx',
              '--out', str(tmp_path / 'o')])
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.strip().splitlines()
    assert lines[-1].startswith('nme=') and '/6 ' in lines[-1]
    peer = [s for s in lines if s.startswith('original MTCNN (Caffe, its own settings)')]
    assert len(peer) == 1 and float(peer[0].split('nme=')[1].split()[0]) < 20
    pose = [s for s in lines if s.startswith('NME by pose')][0]
    detected = int(lines[-1].split('detected=')[1].split('/')[0])
    assert sum(int(x.split('(')[1].split()[0]) for x in pose.split('%')[1:]) == detected
    assert os.path.getsize(tmp_path / 'o' / 'ced.png') > 1000
    r = _run(['tools/eval_landmarks.py', '--compare', 'caffe', '--list', str(small)])
    assert r.returncode == 2 and '--compare needs --detect' in r.stderr
