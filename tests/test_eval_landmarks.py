"""Landmark evaluation: NME / failure / L1 / L2 definitions, list parsing, a real 106-point run."""
import os
import subprocess
import sys

import numpy as np
import pytest

from core.evaluation import landmark_eval as el
from conftest import REPO, shared_path


def test_metric_definitions():
    gt = np.array([[[30., 40.], [50., 40.], [40., 50.], [32., 60.], [48., 60.]]])
    sides = np.array([[80., 80.]])
    res, err = el.metrics(gt.copy(), gt, sides, 5)
    assert res['nme'] == 0 and res['failure'] == 0 and res['l1'] == 0
    shifted = gt + [3.0, 4.0]  # every point 5 px off; inter-ocular distance 20 px
    res, err = el.metrics(shifted, gt, sides, 5)
    assert abs(res['nme'] - 25.0) < 1e-9 and res['failure'] == 100.0
    assert abs(res['l1'] - 3.5 / 80) < 1e-12 and abs(res['l2'] - (9 + 16) / 2 / 6400) < 1e-12


def test_cuhk_list_parsing_and_errors(tmp_path):
    lst = tmp_path / 'l.txt'
    lst.write_text('a/b.jpg 1 2 3 4 5 6 7 8 9 10\n')
    (path, pts), = el.read_points(str(lst), 5)
    assert path == str(tmp_path / 'a' / 'b.jpg')
    np.testing.assert_array_equal(pts, [[1, 6], [2, 7], [3, 8], [4, 9], [5, 10]])
    lst.write_text('a.jpg 1 2 3\n')
    with pytest.raises(ValueError, match='l.txt:1'):
        el.read_points(str(lst), 5)


def test_real_5point_list_parses():
    samples = el.read_points(shared_path('data', 'landmarks5', 'new_testing.txt'), 5)
    assert len(samples) == 2995 and os.path.isfile(samples[0][0])


def test_lnet106_against_its_reference_is_exact(tmp_path):
    ref = np.loadtxt(shared_path('reference', 'train-mtcnn-lnet106-00jpg.txt'), comments='#')
    img = shared_path('images', '00_.jpg')
    px = ref * 112 - 0.5  # normalised -> pixels of the 112x112 crop
    lst = tmp_path / 'l106.txt'
    lst.write_text(img + ' ' + ' '.join('%.6f' % v for v in px.ravel()) + '\n')
    base = os.path.join(shared_path('models', 'train-mtcnn'), 'lnet106_112')
    out = subprocess.run([sys.executable, 'tools/eval_landmarks.py', '--prefix', base, '--epoch', '4070',
                          '--list', str(lst), '--image_root', '/', '--out', str(tmp_path / 'o')],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout
    vals = dict(kv.split('=') for kv in out.strip().splitlines()[-1].split())
    assert float(vals['nme']) < 0.01 and float(vals['failure_rate']) == 0
    assert (tmp_path / 'o' / 'samples.png').exists()


def test_nme_by_pose_bins_the_faces_by_their_labelled_points():
    from core.evaluation.landmark_eval import by_pose, pose_line
    frontal = np.array([[30, 40], [50, 40], [40, 50], [32, 60], [48, 60]], float)
    turned = frontal + [[0, 0], [0, 0], [7, 0], [0, 0], [0, 0]]  # nose 0.35 of the eye distance off
    gt = np.stack([frontal, frontal, turned])
    rows = by_pose(np.array([0.04, 0.06, 0.2]), gt)
    assert [r[2] for r in rows] == [2, 0, 0, 1]
    assert np.isclose(rows[0][1], 5.0) and np.isnan(rows[1][1]) and np.isclose(rows[3][1], 20.0)
    assert pose_line(np.array([0.04, 0.06, 0.2]), gt).endswith('0.28+ 20.00 % (1 faces)')
