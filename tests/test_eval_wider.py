"""WIDER FACE protocol: GT fed back gives AP 1, ignored faces, duplicates, threshold sweep, files."""
import os
import subprocess
import sys

import numpy as np
import pytest

from core.evaluation import wider_eval as ew
from conftest import REPO, shared_path


def _gt(boxes, keep):
    """One event, one image; keep = 1-based counted indices for every setting."""
    k = np.asarray(keep, np.int64)
    return {'ev': {'img': (np.asarray(boxes, float), {s: k for s in ew.SETTINGS})}}


def test_perfect_detections_give_ap_one():
    gt = _gt([[10, 10, 20, 20], [100, 50, 30, 40]], [1, 2])
    preds = {'ev': {'img': np.array([[10, 10, 20, 20, 0.9], [100, 50, 30, 40, 0.8]])}}
    aps, _, counts = ew.evaluate(preds, gt)
    assert counts['easy'] == 2
    assert all(abs(a - 1.0) < 1e-9 for a in aps.values())


def test_ignored_face_match_is_not_a_false_positive():
    gt = _gt([[10, 10, 20, 20], [100, 50, 30, 40]], [1])  # face 2 not counted
    with_ignored = {'ev': {'img': np.array([[10, 10, 20, 20, 0.9], [100, 50, 30, 40, 0.95]])}}
    aps, _, counts = ew.evaluate(with_ignored, gt)
    assert counts['hard'] == 1 and abs(aps['hard'] - 1.0) < 1e-9
    # the same box as a real false positive (no face there) halves precision at the top
    fp = {'ev': {'img': np.array([[10, 10, 20, 20, 0.9], [300, 300, 30, 40, 0.95]])}}
    aps_fp, _, _ = ew.evaluate(fp, gt)
    assert aps_fp['hard'] < 0.75


def test_duplicate_detection_counts_as_proposal_without_recall():
    gt = _gt([[10, 10, 20, 20], [100, 50, 30, 40]], [1, 2])
    dup = np.array([[10, 10, 20, 20, 0.9], [11, 10, 20, 20, 0.85], [100, 50, 30, 40, 0.8]])
    pred_recall, proposal = ew.image_eval(dup, gt['ev']['img'][0], np.array([True, True]))
    assert list(pred_recall) == [1, 1, 2] and proposal.all()
    aps, _, _ = ew.evaluate({'ev': {'img': dup}}, gt)
    assert 0.5 < aps['easy'] < 1.0


def test_threshold_sweep_and_score_normalisation():
    scores = np.array([1.0, 0.5, 0.0])
    pr = ew.image_pr(scores, np.array([True, True, True]), np.array([1., 1., 2.]))
    # thresholds 0.999 .. 0: only the 1.0 detection above 0.999; all three at threshold 0
    assert tuple(pr[0]) == (1, 1) and tuple(pr[-1]) == (3, 2)
    assert tuple(pr[499]) == (2, 1)  # threshold 0.5 includes the 0.5 detection
    # raw scores on any scale are min-max normalised over the whole set
    gt = _gt([[10, 10, 20, 20]], [1])
    a = ew.evaluate({'ev': {'img': np.array([[10, 10, 20, 20, 7.0], [50, 50, 9, 9, 3.0]])}}, gt)[0]
    b = ew.evaluate({'ev': {'img': np.array([[10, 10, 20, 20, 0.7], [50, 50, 9, 9, 0.3]])}}, gt)[0]
    assert a == b


def test_prediction_files_roundtrip_and_errors(tmp_path):
    path = str(tmp_path / 'ev' / 'img.txt')
    ew.write_prediction(path, 'img', np.array([[10., 20., 30., 60.]]), np.array([0.5]))
    np.testing.assert_allclose(ew.read_prediction(path), [[10, 20, 20, 40, 0.5]])
    bad = tmp_path / 'bad.txt'
    cases = [('img\n2\n1 2 3 4 0.5\n', 'bad.txt:2: the count says 2 boxes, the file has 1'),
             ('img\n1\n1 2 3 4 0.5\n5 6 7 8 0.1\n', 'bad.txt:2: the count says 1 boxes, the file has 2'),
             ('img\n1\n1 2 3\n', 'bad.txt:3: expected'),
             ('img\n1\n1 2 3 4 nan\n', 'bad.txt:3: non-finite'),
             ('img\n1\n1 2 3 4 inf\n', 'bad.txt:3: non-finite'),
             ('img\n1\n1 2 3 4 1e308\n', 'bad.txt:3: implausible score'),
             ('img\n1\nnan 2 3 4 0.5\n', 'bad.txt:3: non-finite'),
             ('img\n1\n1 2 -3 4 0.5\n', 'bad.txt:3: negative box width'),
             ('img\nx\n', 'bad.txt:2: expected a box count')]
    for text, message in cases:  # every one an error naming file:line, never a silent AP
        bad.write_text(text)
        with pytest.raises(ValueError, match=message):
            ew.read_prediction(str(bad))
    # through the command line: one line, no traceback, non-zero exit
    gt_dir = shared_path('data', 'widerface', 'eval_tools', 'ground_truth')
    for event, text in (('0--Parade', 'img\n1\n1 2 3 4 nan\n'), ('no-such-event', 'img\n0\n')):
        (tmp_path / 'p' / event).mkdir(parents=True)
        (tmp_path / 'p' / event / 'img.txt').write_text(text)
        r = subprocess.run([sys.executable, 'tools/eval_wider.py', '--pred_dir', str(tmp_path / 'p'), '--gt_dir',
                            gt_dir, '--out', str(tmp_path / 'o')], cwd=REPO, capture_output=True, text=True)
        assert r.returncode == 2 and r.stderr.startswith('error: ') and 'Traceback' not in r.stderr, r.stderr
        assert 'img.txt:3: non-finite' in r.stderr or 'not in the ground truth: no-such-event' in r.stderr


def test_ground_truth_fed_back_on_the_real_subset(tmp_path):
    gt_dir = shared_path('data', 'widerface', 'eval_tools', 'ground_truth')
    root = shared_path('data', 'widerface', 'WIDER_val', 'images')
    gt = ew.load_ground_truth(gt_dir)
    events = ew.present_events(root, gt)
    assert len(events) == 5
    pred_dir = tmp_path / 'pred'
    for e in events:
        for name, (boxes, _) in gt[e].items():
            b = boxes.copy()
            xyxy = np.c_[b[:, :2], b[:, :2] + b[:, 2:]]
            ew.write_prediction(str(pred_dir / e / (name + '.txt')), name, xyxy, np.ones(len(b)))
    out = subprocess.run([sys.executable, 'tools/eval_wider.py', '--pred_dir', str(pred_dir),
                          '--gt_dir', gt_dir, '--image_root', root, '--out', str(tmp_path / 'o')],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert 'easy 874 medium 1660 hard 4248' in out
    last = out.strip().splitlines()[-1]
    vals = dict(kv.split('=') for kv in last.split())
    assert all(abs(float(v) - 1.0) < 1e-6 for v in vals.values()), last
    assert os.path.isfile(tmp_path / 'o' / 'pr_curve.png')


def test_precision_and_recall_at_raw_score_thresholds():
    gt = _gt([[10, 10, 20, 20], [100, 50, 30, 40], [200, 200, 30, 30]], [1, 2])  # face 3 uncounted
    preds = {'ev': {'img': np.array([[10, 10, 20, 20, 0.99], [300, 300, 30, 40, 0.9],  # a false face
                                     [200, 200, 30, 30, 0.85], [100, 50, 30, 40, 0.6]])}}
    precision, recall = ew.pr_at(preds, gt, ['ev'], 'easy', [0.95, 0.8, 0.5, 0.999])
    assert list(precision) == [1.0, 0.5, 2 / 3.0, 1.0]  # the uncounted face's detection is no proposal
    assert list(recall) == [0.5, 0.5, 1.0, 0.0]


def test_the_default_cascade_at_its_accurate_point_through_the_cli(tmp_path):
    """The README's val command at a small scale: the default models at the accurate point (with the
    Onet options it records) on six WIDER val images given as an anno.txt."""
    gt_dir = shared_path('data', 'widerface', 'eval_tools', 'ground_truth')
    root = shared_path('data', 'widerface', 'WIDER_val', 'images')
    gt = ew.load_ground_truth(gt_dir)
    event = ew.present_events(root, gt)[0]
    lines = []
    for name, (boxes, _) in sorted(gt[event].items())[:6]:
        xyxy = np.c_[boxes[:, :2], boxes[:, :2] + boxes[:, 2:]].astype(int)
        lines.append(' '.join([os.path.join(root, event, name + '.jpg')] + [str(v) for v in xyxy.ravel()]))
    anno = tmp_path / 'anno.txt'
    anno.write_text('\n'.join(lines) + '\n')
    out = subprocess.run([sys.executable, 'tools/eval_wider.py', '--gt_anno', str(anno), '--backend', 'onnx',
                          '--out', str(tmp_path / 'o')], cwd=REPO, capture_output=True, text=True, check=True).stdout
    vals = dict(kv.split('=') for kv in out.strip().splitlines()[-1].split())
    assert 0.3 < float(vals['dev_ap']) <= 1.0, out
    assert len(os.listdir(tmp_path / 'o' / 'pred' / event)) == 6
