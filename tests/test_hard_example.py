"""Hard-example mining: candidate labelling and a real run with the shipped Pnet."""
import os

import numpy as np

from prepare_data.gen_hard_example import label_candidates, main
from core.common.packed import RecordReader, decode_image
from conftest import shared_path


def test_labelling_rules():
    gt = np.array([[100, 100, 199, 199]], float)
    cands = np.array([[300, 300, 350, 350, 0.9],   # far from the face (IoU 0): hard negative
                      [100, 100, 199, 199, 0.9],   # the face (IoU 1)
                      [120, 120, 219, 219, 0.9],   # IoU 0.47: a part face
                      [140, 140, 240, 240, 0.9],   # IoU 0.22: neither negative nor part, dropped
                      [0, 0, 10, 10, 0.9],         # smaller than 20 px: skipped
                      [590, 300, 650, 360, 0.9]],  # leaves the image: skipped
                     float)
    out = label_candidates(cands, gt, 600, 400)
    assert [c for c, _, _ in out] == ['neg_hard']  # the original mines negatives only
    out = label_candidates(cands, gt, 600, 400, keep_pos_part=True)
    assert [c for c, _, _ in out] == ['neg_hard', 'pos_hard', 'part_hard']
    np.testing.assert_allclose(out[2][2], [-0.2, -0.2, -0.2, -0.2], atol=1e-6)  # (gt - crop) / side
    pos = [o for o in out if o[0] == 'pos_hard'][0]
    np.testing.assert_allclose(pos[2], 0, atol=1e-6)  # the face itself: zero offsets
    assert label_candidates(np.zeros((0, 5)), gt, 600, 400) == []


def test_mining_with_the_shipped_pnet(tmp_path, capsys):
    root = shared_path('data', 'widerface')
    from prepare_data.wider import build_annotations, read_mat, write_annotations
    kept, _ = build_annotations(read_mat(os.path.join(root, 'wider_face_split', 'wider_face_train.mat')),
                                os.path.join(root, 'WIDER_train', 'images'))
    anno = str(tmp_path / 'anno.txt')
    write_annotations(kept[:6], anno, str(tmp_path / 'train.txt'))
    pnet = os.path.join(shared_path('models', 'train-mtcnn'), 'pnet20_v1')
    assert main(['--test_mode', 'rnet', '--prefix', pnet, '--epoch', '16', '--anno', anno,
                 '--out', str(tmp_path / 's'), '--workers', '1']) == 0
    out = capsys.readouterr().out
    assert 'recall' in out and 'candidates/image' in out
    r = RecordReader(str(tmp_path / 's' / '24' / 'neg_hard'))
    assert len(r) > 0
    label, _, _, buf = r.read(0)
    assert label[0] == 0 and decode_image(buf).shape == (24, 24, 3)
