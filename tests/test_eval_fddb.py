"""FDDB evaluator: region IoU, matching, ROC merge, files, and the official reference ROC."""
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from core.evaluation import fddb_eval as ef
from conftest import REPO, shared_path


def test_region_iou_of_axis_aligned_ellipse_and_box():
    e = np.array([40.0, 20.0, 0.0, 100.0, 100.0])  # major along x (angle 0), minor along y
    inside = ef.region_iou(e, np.array([60, 80, 80, 40, 1.0]))  # bounding box of the ellipse
    assert abs(inside - math.pi / 4) < 0.03
    rotated = np.array([40.0, 20.0, math.pi / 2, 100.0, 100.0])  # now tall
    assert ef.region_iou(rotated, np.array([80, 60, 40, 80, 1.0])) > 0.7
    assert ef.region_iou(e, np.array([300, 300, 10, 10, 1.0])) == 0.0
    # clipping to the image raises IoU when the box leaves the image
    e2 = np.array([40.0, 20.0, 0.0, 30.0, 100.0])
    box = np.array([-10, 80, 80, 40, 1.0])
    assert ef.region_iou(e2, box, size=(200, 200)) >= ef.region_iou(e2, box, size=(2000, 2000)) - 1e-9


def test_matching_is_one_to_one_and_thresholded():
    ell = np.array([[40.0, 20.0, 0.0, 100.0, 100.0], [40.0, 20.0, 0.0, 300.0, 100.0]])
    dets = np.array([[60, 80, 80, 40, 0.9],      # face 1
                     [62, 80, 80, 40, 0.8],      # duplicate of face 1: a false positive
                     [260, 80, 80, 40, 0.7]])    # face 2
    res = ef.image_results(ell, dets)
    assert [r[0] for r in res] == [0.7, 0.8, 0.9]
    t, d, c, fp = res[0]   # all three detections
    assert (d, fp) == (2, 1) and 1.4 < c < 1.7
    t, d, c, fp = res[2]   # only the best one
    assert (d, fp) == (1, 0)


def test_roc_merge_over_images():
    ell = [('a', np.array([[40.0, 20.0, 0.0, 100.0, 100.0]])),
           ('b', np.array([[40.0, 20.0, 0.0, 100.0, 100.0]])), ('c', np.zeros((0, 5)))]
    dets = {'a': np.array([[60, 80, 80, 40, 0.9]]), 'b': np.array([[500, 500, 10, 10, 0.95]]),
            'c': np.array([[0, 0, 10, 10, 0.5]])}
    thr, tp_d, tp_c, fp, n = ef.evaluate(ell, dets)
    assert n == 2 and list(thr) == [0.5, 0.9, 0.95]
    assert list(tp_d) == [1, 1, 0] and list(fp) == [2, 1, 1]
    assert ef.tpr_at(tp_d / n, fp, 1) == 0.5 and ef.tpr_at(tp_d / n, fp, 0) == 0.0


def test_bad_detection_file_names_the_line(tmp_path):
    bad = tmp_path / 'dets.txt'
    bad.write_text('img_1\n2\n1 2 3 4 0.9\n')
    with pytest.raises(ValueError, match='dets.txt:4'):
        ef.read_detections(str(bad))


def test_reference_detections_match_the_official_roc(tmp_path):
    folds = shared_path('data', 'fddb', 'FDDB-folds')
    ref_dir = shared_path('data', 'fddb', 'reference_results')
    out = subprocess.run([sys.executable, 'tools/eval_fddb.py', '--folds', folds, '--dets',
                          os.path.join(ref_dir, 'train-mtcnn-detect.txt'), '--out', str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout
    last = dict(kv.split('=') for kv in out.strip().splitlines()[-1].split())
    ref = np.loadtxt(os.path.join(ref_dir, 'tempDiscROC.txt'))
    for k in (100, 500):
        want = ref[ref[:, 1] <= k, 0].max()
        assert abs(float(last['tpr@%d' % k]) - want) <= 0.005, (k, last, want)
    ours = np.loadtxt(str(tmp_path / 'DiscROC.txt'))
    assert ours.shape[1] == 3 and ours.shape[0] == ref.shape[0]
    assert (tmp_path / 'ContROC.txt').exists() and (tmp_path / 'ROC.png').exists()
