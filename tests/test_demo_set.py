"""The embedded demo set: WIDER layout, exact boxes, readable by every tool."""
import os

import numpy as np
import pytest

pytest.importorskip('skimage', reason='scikit-image provides the demo images')

from prepare_data.demo_set import compose, make_demo_set, sources  # noqa: E402
from prepare_data.wider import build_annotations, read_mat, read_txt  # noqa: E402
from core.evaluation import wider_eval as ew  # noqa: E402


def test_compose_boxes_are_exact_and_disjoint():
    faces, backs = sources()
    assert len(faces) == 100 and len(backs) >= 5
    rng = np.random.RandomState(0)
    img, boxes = compose(backs[0], faces, rng)
    assert img.shape == (240, 320, 3) and 1 <= len(boxes) <= 4
    for x, y, w, h in boxes:
        assert 0 <= x and x + w <= 320 and 0 <= y and y + h <= 240 and 20 <= w <= 80
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            assert a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1]


def test_demo_set_layout_and_evaluation(tmp_path):
    out = str(tmp_path / 'demo')
    rep = make_demo_set(out, n_train=6, n_val=4, seed=1)
    assert rep['train'][0] == 6 and rep['val'][0] == 4
    mat = read_mat(os.path.join(out, 'wider_face_split', 'wider_face_train.mat'))
    txt = read_txt(os.path.join(out, 'wider_face_split', 'wider_face_train_bbx_gt.txt'))
    a, _ = build_annotations(mat, os.path.join(out, 'WIDER_train', 'images'))
    b, _ = build_annotations(txt, os.path.join(out, 'WIDER_train', 'images'))
    assert len(a) == 6 and all(np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    gt = ew.load_ground_truth(os.path.join(out, 'eval_tools', 'ground_truth'))
    preds = {e: {n: np.c_[bx, np.ones(len(bx))] for n, (bx, _) in imgs.items()} for e, imgs in gt.items()}
    aps, _, counts = ew.evaluate(preds, gt)
    assert counts['hard'] == rep['val'][1] and all(abs(v - 1) < 1e-9 for v in aps.values())
