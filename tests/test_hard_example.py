"""Hard-example mining: candidate labelling and a real run with the shipped Pnet."""
import os

import numpy as np

from prepare_data.gen_hard_example import KINDS, MiningJob, label_candidates, main
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
    kind, boxes, off = label_candidates(cands, gt, 600, 400)
    assert [KINDS[k] for k in kind] == ['neg_hard']  # the original mines negatives only
    np.testing.assert_array_equal(boxes, [[300, 300, 350, 350]])
    kind, boxes, off = label_candidates(cands, gt, 600, 400, keep_pos_part=True)
    assert [KINDS[k] for k in kind] == ['neg_hard', 'pos_hard', 'part_hard']
    np.testing.assert_allclose(off[2], [-0.2, -0.2, -0.2, -0.2], atol=1e-6)  # (gt - crop) / side
    np.testing.assert_allclose(off[1], 0, atol=1e-6)  # the face itself: zero offsets
    np.testing.assert_array_equal(off[0], 0)
    assert off.dtype == np.float32
    assert [len(a) for a in label_candidates(np.zeros((0, 5)), gt, 600, 400)] == [0, 0, 0]


def old_records(job, index):
    """The records of one image as mining built them before it was vectorised: a loop over the labelled
    candidates, the crops normalised and converted back, each label assembled on its own."""
    from core.common.boxes import crop_batch, iou_matrix, square
    from core.common.image import from_tensor, read_image
    from prepare_data.writers import encode
    path, gt = job.anno[index]
    img = read_image(path)
    h, w = img.shape[:2]
    cands = job.candidates(img)
    sq = square(cands)
    sq[:, :4] = np.round(sq[:, :4])
    side = sq[:, 2] - sq[:, 0] + 1
    sq = sq[(side >= 20) & (sq[:, 0] >= 0) & (sq[:, 1] >= 0) & (sq[:, 2] <= w - 1) & (sq[:, 3] <= h - 1)]
    ovr = iou_matrix(sq[:, :4], gt)
    out = []
    for i, box in enumerate(sq[:, :4]):
        best, g = ovr[i].max(), gt[ovr[i].argmax()]
        if best < 0.1:
            out.append(('neg_hard', box, np.zeros(4, np.float32), 0))
        elif best >= 0.4:
            s = box[2] - box[0] + 1
            off = np.array([(g[0] - box[0]) / s, (g[1] - box[1]) / s, (g[2] - box[2]) / s, (g[3] - box[3]) / s],
                           np.float32)
            out.append(('pos_hard', box, off, 1) if best >= 0.65 else ('part_hard', box, off, -1))
    crops = from_tensor(crop_batch(img, np.array([b for _, b, _, _ in out]), job.size, check_geometry=False)[0])
    return [(c, encode(crop, 'raw' if job.size <= 24 else 'jpeg'), np.r_[code, off].astype(np.float32))
            for (c, _, off, code), crop in zip(out, crops)]


def test_mining_records_are_the_loop_s_records():
    """The vectorised labelling, cropping and label building give byte for byte the records of the
    per-candidate loop they replaced (negatives, positives and parts, 24 and 48 px crops)."""
    root = shared_path('data', 'widerface')
    from prepare_data.wider import build_annotations, read_mat
    kept, _ = build_annotations(read_mat(os.path.join(root, 'wider_face_split', 'wider_face_train.mat')),
                                os.path.join(root, 'WIDER_train', 'images'))
    pnet = os.path.join(shared_path('models', 'train-mtcnn'), 'pnet20_v1')
    anno = [(p, np.asarray(b, float)) for p, b in kept[:3]]
    classes = set()
    for size in (24, 48):
        job = MiningJob(anno, [pnet], [16], [0.5], 20, size, True, 'onnx').prepare()
        for i in range(len(anno)):
            got, stats = job(i, 0)
            want = old_records(job, i)
            assert len(got) == len(want) > 0 and stats['candidates'] > 0
            classes |= {c for c, _, _ in got}
            for (c1, d1, l1), (c2, d2, l2) in zip(got, want):
                assert c1 == c2 and d1 == d2 and l1.tobytes() == l2.tobytes()
    assert classes == set(KINDS)


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
