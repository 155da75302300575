"""tools/inspect_false_positives.py: which final boxes are false, which faces are missed, where along
the cascade faces are lost, and the contact sheets."""
import os
import subprocess
import sys

import cv2
import numpy as np

from conftest import REPO, shared_path
from core.common.image import contact_sheet

sys.path.insert(0, os.path.join(REPO, 'tools'))
import inspect_false_positives as ifp  # noqa: E402


def test_a_box_on_a_dont_care_face_is_not_false():
    faces = np.array([[100, 100, 160, 170], [300, 300, 310, 310]], float)  # the second under min_face
    final = np.array([[102, 98, 161, 168, 0.99], [299, 301, 311, 309, 0.9], [0, 0, 50, 50, 0.95]])
    idx, best = ifp.false_boxes(faces, final)
    assert idx.tolist() == [2] and best.tolist() == [0.0]
    assert ifp.false_boxes(np.zeros((0, 4)), final)[0].tolist() == [0, 1, 2]  # no faces: every box is false
    assert ifp.false_boxes(faces, np.zeros((0, 5)))[0].size == 0


def test_tally_counts_faces_found_after_each_stage_by_size():
    faces = np.array([[0, 0, 30, 30], [100, 100, 200, 200], [300, 300, 380, 380]], float)
    off = lambda b, d: np.r_[b + d, 0.9]  # noqa: E731
    stages = dict(pnet=np.array([off(f, 0) for f in faces]),
                  rnet=np.array([off(faces[1], 0), off(faces[2], [0, 0, 40, 40])]),  # the last one placed badly
                  onet=np.array([off(faces[2], [0, 0, 40, 40])]))
    t = ifp.Tally()
    t.add(faces, stages)
    assert t.faces == {'<40': 1, '>=40': 2}
    assert t.found[('pnet', '>=40', 0.5)] == 2 and t.found[('rnet', '>=40', 0.5)] == 1
    assert t.found[('rnet', '<40', 0.5)] == 0 and t.found[('onet', '>=40', 0.5)] == 0
    assert t.found[('onet', '>=40', 0.3)] == 1  # IoU 80²/120² = 0.44
    assert t.missed == {'<40': 1, '>=40': 2} and t.placed_badly == {'<40': 0, '>=40': 1}
    lines = t.lines()
    assert lines[1].split()[:4] == ['<40', '1', '100.0', '/'] and '100.0 / 100.0' in lines[2]


def test_tile_centres_the_box_with_its_context():
    img = np.zeros((200, 200, 3), np.uint8)
    img[50:150, 50:150] = 255
    t = ifp.tile(img, [50, 50, 150, 150], 96, marks=[([50, 50, 150, 150], (0, 0, 255))], context=0.25)
    assert t.shape == (96, 96, 3)
    assert (t[48, 48] == 255).all() and (t[5, 48] == 0).all()  # the box in the middle, context around it
    assert (t[16, 48] == [0, 0, 255]).all()  # its top edge: 25 px of context × 96 / 150
    grid = contact_sheet([t] * 9, cols=8)
    assert grid.shape == (192, 768, 3) and (grid[100:, 100:] == 255).all() and contact_sheet([]) is None


def test_the_default_models_on_4jpg(tmp_path):
    """The 4 faces of 4.jpg as ground truth: nothing false, nothing missed; with one face left out of it
    and a face that is not there added, one false box and one missed face, each on its sheet."""
    img = shared_path('images', '4.jpg')
    ref = np.loadtxt(shared_path('reference', 'train-mtcnn-4jpg-dets.txt'), comments='#')[:, :4]
    anno = tmp_path / 'anno.txt'
    fake = [20, 380, 80, 440]
    anno.write_text('%s %s\n%s %s\n' % (img, ' '.join('%.0f' % v for v in ref.ravel()),
                                          img, ' '.join('%.0f' % v for v in np.r_[ref[1:].ravel(), fake])))
    out = tmp_path / 'fp'
    run = subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'inspect_false_positives.py'),
                          '--gt_anno', str(anno), '--out', str(out)], capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0, run.stderr
    assert 'images 2, faces >= 20 px 8, final boxes at threshold 0.7,0.8,0.9: 1 false, 1 faces missed' in run.stdout
    assert '>=40' in run.stdout and 'Traceback' not in run.stderr
    rows = (out / 'false_positives.tsv').read_text().splitlines()
    assert len(rows) == 2 and float(rows[1].split('\t')[5]) > 0.9  # the left-out face, at a face's score
    box = [float(v) for v in rows[1].split('\t')[1:5]]
    assert abs(box[0] - ref[0, 0]) < 15 and abs(box[2] - ref[0, 2]) < 15
    assert cv2.imread(str(out / 'false_positives.png')).shape == (128, 1024, 3)
    assert cv2.imread(str(out / 'missed.png')).shape == (128, 1024, 3)
    anno.write_text('%s 10 10 50 50\n%s %s\n' % (tmp_path / 'gone.jpg', img, ' '.join('%.0f' % v for v in ref.ravel())))
    skip = subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'inspect_false_positives.py'),
                           '--gt_anno', str(anno), '--out', str(out)], capture_output=True, text=True, cwd=REPO)
    assert skip.returncode == 0, skip.stderr
    assert 'warning: 1 images skipped' in skip.stdout and 'gone.jpg' in skip.stdout
    assert 'images 1, faces >= 20 px 4, final boxes at threshold 0.7,0.8,0.9: 0 false, 0 faces missed' in skip.stdout
    assert not (out / 'false_positives.png').exists() and not (out / 'missed.png').exists()  # no stale sheets
    bad = subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'inspect_false_positives.py'),
                          '--gt_anno', str(tmp_path / 'none.txt')], capture_output=True, text=True, cwd=REPO)
    assert bad.returncode != 0 and 'none.txt' in bad.stderr and 'Traceback' not in bad.stderr
