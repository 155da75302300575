"""Data preparation: annotations, sampling geometry, packing, resume, lists, landmarks, bad input."""
import os
import random

import cv2
import numpy as np
import pytest

from core.landmarks.points import FLIP106, FLIP5, flip_points, from_vector
from core.common.packed import RecordReader, RecordWriter, pack, unpack
from prepare_data import wider
from prepare_data.gen_data import generate
from prepare_data.gen_imglist import assemble, class_counts
from prepare_data.landmark_data import Landmark5Job, Landmark106Job, ListError, celeba_cut, read_landmark_list
from core.common.boxes import iou_matrix
from core.common.fileio import NEGATIVE as NEG, PART, POSITIVE as POS
from prepare_data.sampling import sample_boxes, sample_image
from conftest import shared_path


def _synthetic(tmp_path, n=6, size=(240, 320)):
    """Images with textured 'faces' and an anno.txt."""
    rng = np.random.RandomState(0)
    lines = []
    for i in range(n):
        img = rng.randint(0, 255, size + (3,)).astype(np.uint8)
        path = str(tmp_path / ('img%d.jpg' % i))
        cv2.imwrite(path, img)
        lines.append('%s 40 30 120 140 200 60 260 130' % path)
    anno = tmp_path / 'anno.txt'
    anno.write_text('\n'.join(lines) + '\n')
    return str(anno)


def test_sampling_geometry_classes_and_offsets():
    img = np.random.RandomState(1).randint(0, 255, (300, 400, 3)).astype(np.uint8)
    gt = np.array([[50, 60, 150, 180], [250, 40, 330, 140]], float)
    seen = {NEG: 0, POS: 0, PART: 0}
    crops = list(sample_image(img, gt, 24, rng=random.Random(3)))
    boxes = list(sample_boxes(img.shape[:2], gt, 24, rng=random.Random(3)))
    assert len(crops) == len(boxes)
    for (cls, crop, label), (_, (x, y, s), _) in zip(crops, boxes):
        assert crop.shape == (24, 24, 3) and label.dtype == np.float32
        np.testing.assert_array_equal(crop, cv2.resize(img[y:y + s, x:x + s], (24, 24)))  # bilinear, as the original
        seen[cls] += 1
        if cls == NEG:
            assert not label[1:].any()
            continue
        # the offsets give back one ground-truth box exactly: gt = crop + offset * side
        face = np.array([x + label[1] * s, y + label[2] * s, x + s + label[3] * s, y + s + label[4] * s])
        k = int(np.argmin(np.abs(gt - face).sum(1)))
        np.testing.assert_allclose(face, gt[k], atol=1e-3)
        o = iou_matrix(np.array([[x, y, x + s, y + s]], float), gt[k:k + 1])[0, 0]
        assert (cls == POS and o >= 0.65) or (cls == PART and 0.4 <= o < 0.65), (cls, o)
    assert seen[NEG] >= 50 and seen[POS] > 0 and seen[PART] > 0


def test_negatives_never_overlap_faces():
    # every negative, random or near a face, has IoU < 0.3 with every face (the smallest faces included)
    gt = np.array([[100, 100, 200, 200], [210, 90, 260, 150], [20, 20, 40, 45]], float)
    stats, near = {}, 0
    for cls, (x, y, s), label in sample_boxes((300, 320), gt, 20, base_num=3, rng=random.Random(0), stats=stats):
        if cls == NEG:
            o = iou_matrix(np.array([[x, y, x + s, y + s]], float), gt).max()
            assert o < 0.3, (x, y, s, o)
            near += o > 0.1  # the near-face negatives really are near the faces
    assert stats['faces_used'] == 2 and stats['faces_skipped'] == 1 and near > 5


def test_small_images_and_crowded_images_do_not_crash():
    stats = {}
    tiny = np.zeros((30, 30, 3), np.uint8)  # min side / 2 <= 20: the original crashed
    out = list(sample_image(tiny, np.zeros((0, 4)), 20, rng=random.Random(0), stats=stats))
    assert out == [] and stats['small_image'] == 1
    crowd = np.zeros((100, 100, 3), np.uint8)  # every window overlaps a face: loop must stop
    boxes = np.array([[x, y, x + 30, y + 30] for x in range(-10, 100, 4) for y in range(-10, 100, 4)], float)
    stats = {}
    list(sample_image(crowd, boxes, 20, rng=random.Random(0), stats=stats))
    assert stats.get('neg_loop_capped') == 1


def test_packing_roundtrip_and_truncation(tmp_path):
    w = RecordWriter(str(tmp_path / 'x'))
    payloads = [pack([1, 0.1, 0.2, 0.3, 0.4], b'abc' * k, 7, k) for k in range(5)]
    for p in payloads[:3]:
        w.write(p)
    state = w.flush()
    for p in payloads[3:]:
        w.write(p)
    w.close()
    r = RecordReader(str(tmp_path / 'x'))
    assert len(r) == 5
    label, i1, i2, img = r.read(4)
    assert i1 == 7 and i2 == 4 and img == b'abc' * 4
    np.testing.assert_allclose(label, [1, 0.1, 0.2, 0.3, 0.4], rtol=1e-6)
    # MXNet's own reader understands the files
    import mxnet as mx
    rec = mx.recordio.MXIndexedRecordIO(str(tmp_path / 'x.idx'), str(tmp_path / 'x.rec'), 'r')
    header, data = mx.recordio.unpack(rec.read_idx(2))
    assert data == b'abc' * 2 and header.id2 == 2
    # resume: truncating back to a checkpoint drops what came after it
    w = RecordWriter(str(tmp_path / 'x'), truncate_to=state)
    w.close()
    assert len(RecordReader(str(tmp_path / 'x'))) == 3


def test_generate_is_deterministic_resumable_and_worker_independent(tmp_path):
    anno = _synthetic(tmp_path)
    a = generate(anno, 20, str(tmp_path / 'a'), workers=1, seed=5)
    b = generate(anno, 20, str(tmp_path / 'b'), workers=2, seed=5)
    assert a['counts'] == b['counts'] and a['counts']['pos'] > 0
    for cls in ('pos', 'part', 'neg'):
        ra, rb = (open(str(tmp_path / d / '20' / (cls + '.rec')), 'rb').read() for d in 'ab')
        assert ra == rb
    files = os.listdir(str(tmp_path / 'a' / '20'))
    assert len(files) <= 10 and 'manifest.json' in files
    # a rerun with the same settings skips; with a simulated interruption it resumes identically
    again = generate(anno, 20, str(tmp_path / 'a'), workers=1, seed=5)
    assert again['counts'] == a['counts']


def test_interrupted_run_resumes_to_identical_output(tmp_path, monkeypatch):
    anno = _synthetic(tmp_path, n=8)
    full = generate(anno, 24, str(tmp_path / 'full'), workers=1, seed=1)
    import prepare_data.gen_data as gd
    calls = {'n': 0}
    orig = gd.SampleJob.__call__

    def flaky(self, index, seed):
        calls['n'] += 1
        if calls['n'] == 5:
            raise KeyboardInterrupt
        return orig(self, index, seed)

    monkeypatch.setattr(gd.SampleJob, '__call__', flaky)
    import prepare_data.runner as runner
    monkeypatch.setattr(runner.time, 'time', lambda: 1e12 * calls['n'])  # checkpoint after every image
    with pytest.raises(SystemExit):
        generate(anno, 24, str(tmp_path / 'part'), workers=1, seed=1)
    assert not os.path.exists(str(tmp_path / 'part' / '24' / 'manifest.json'))  # not marked complete
    monkeypatch.setattr(gd.SampleJob, '__call__', orig)
    resumed = generate(anno, 24, str(tmp_path / 'part'), workers=1, seed=1)
    assert resumed['counts'] == full['counts']
    for cls in ('pos', 'part', 'neg'):
        assert open(str(tmp_path / 'full' / '24' / (cls + '.rec')), 'rb').read() == \
            open(str(tmp_path / 'part' / '24' / (cls + '.rec')), 'rb').read()


def test_jpg_format_writes_the_original_layout(tmp_path):
    anno = _synthetic(tmp_path, n=2)
    m = generate(anno, 20, str(tmp_path / 'j'), fmt='jpg', workers=1)
    folder = tmp_path / 'j' / '20'
    lines = (folder / 'pos.txt').read_text().splitlines()
    assert len(lines) == m['counts']['pos']
    path, code, *offs = lines[0].split()
    assert code == '1' and len(offs) == 4 and os.path.isfile(path + '.jpg')
    assert all(ln.split()[1] == '0' and len(ln.split()) == 2 for ln in (folder / 'neg.txt').read_text().splitlines())


def test_image_lists_counts_and_seed(tmp_path):
    anno = _synthetic(tmp_path)
    generate(anno, 20, str(tmp_path / 's'), workers=1)
    out = str(tmp_path / 'lists' / 'train.txt')
    rep = assemble(str(tmp_path / 's' / '20'), out, base_num=1)
    assert rep['pos'][0] == rep['pos'][1]  # pools smaller than 300k are taken whole
    lines = open(out).read().splitlines()
    assert lines[0].startswith('../s/20/pos.rec#0 1')
    assert class_counts(2, with_hard=True) == {'pos': 600000, 'part': 600000, 'neg': 1200000, 'neg_hard': 600000}
    with pytest.raises(FileNotFoundError, match='neg_hard'):
        assemble(str(tmp_path / 's' / '20'), out, with_hard=True)


def test_wider_annotations_real_and_bad(tmp_path):
    mat = wider.read_mat(shared_path('data', 'widerface', 'wider_face_split', 'wider_face_train.mat'))
    kept, stats = wider.build_annotations(mat, shared_path('data', 'widerface', 'WIDER_train', 'images'))
    assert stats['images'] == 1239 and stats['boxes'] == 6590 and stats['missing'] > 10000
    txt = wider.read_txt(shared_path('data', 'widerface', 'wider_face_split', 'wider_face_train_bbx_gt.txt'))
    kept2, _ = wider.build_annotations(txt, shared_path('data', 'widerface', 'WIDER_train', 'images'))
    assert [p for p, _ in kept] == [p for p, _ in kept2]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(kept, kept2))


def test_bad_annotation_inputs(tmp_path):
    bad = tmp_path / 'gt.txt'
    anno = tmp_path / 'anno.txt'
    cases = [(bad, 'ev/a.jpg\n2\n1 2 3 4 0 0 0 0 0 0\n', wider.read_txt, 'gt.txt:4'),
             (bad, 'ev/a.jpg\nx\n', wider.read_txt, 'gt.txt:2'),
             (anno, '', wider.read_anno, 'empty'),
             (anno, 'a.jpg 1 2 3\n', wider.read_anno, 'anno.txt:1'),
             (anno, 'a.jpg 1 2 nan 4\n', wider.read_anno, 'anno.txt:1: non-finite'),
             (anno, 'a.jpg 5 2 1 4\n', wider.read_anno, 'anno.txt:1: a box with x2 < x1')]
    for path, text, reader, message in cases:
        path.write_text(text)
        with pytest.raises(ValueError, match=message):
            reader(str(path))
    # zero-size boxes are counted and kept (per-box score files stay aligned); a missing image is counted
    rec = [('ev', 'missing', np.array([[1, 2, 3, 4]]), np.zeros(1, bool))]
    img_dir = tmp_path / 'ev'
    img_dir.mkdir()
    cv2.imwrite(str(img_dir / 'ok.jpg'), np.zeros((10, 10, 3), np.uint8))
    rec.append(('ev', 'ok', np.array([[1, 2, 0, 4], [1, 1, 5, 5]]), np.array([False, True])))
    kept, stats = wider.build_annotations(rec, str(tmp_path), drop_invalid=True)
    assert stats == dict(images=1, missing=1, boxes=1, zero_size=1, invalid=1)
    np.testing.assert_array_equal(kept[0][1], [[1, 2, 1, 6]])


def test_paths_with_spaces_and_prob_scores_stay_aligned(tmp_path):
    folder = tmp_path / 'my data' / '1--Event'
    folder.mkdir(parents=True)
    img = str(folder / 'a b.jpg')
    cv2.imwrite(img, np.zeros((10, 10, 3), np.uint8))
    anno = str(tmp_path / 'my data' / 'anno.txt')
    wider.write_annotations([(img, np.array([[1, 2, 1, 6], [3, 3, 8, 9]]))], anno)
    (path, boxes), = wider.read_anno(anno)
    assert path == img and boxes.shape == (2, 4)
    # the original's prob.txt: author's paths with mixed separators, one score per box (zero-size too)
    prob = tmp_path / 'prob.txt'
    prob.write_text('F:/train-mtcnn/data/WIDER_train/images\\1--Event\\other.jpg 0.9\n'
                    'F:/train-mtcnn/data/WIDER_train/images\\1--Event\\a b.jpg 0.00 0.85\n')
    probs = wider.read_prob(str(prob), wider.read_anno(anno))
    np.testing.assert_allclose(probs[0], [0.0, 0.85])


def test_corrupt_image_is_a_counted_skip(tmp_path):
    anno = _synthetic(tmp_path, n=2)
    (tmp_path / 'img1.jpg').write_bytes(b'not a jpeg')
    m = generate(anno, 20, str(tmp_path / 'o'), workers=1)
    assert m['stats']['skipped'] == 1 and 'img1.jpg: cannot decode image' in m['stats']['skipped_examples'][0]
    from prepare_data.runner import skip_summary
    assert skip_summary(m).startswith('skipped 1 item(s) with bad input, e.g. ') and skip_summary({'stats': {}}) is None


def test_flip_permutations():
    assert list(FLIP5) == [1, 0, 2, 4, 3]
    assert sorted(FLIP106) == list(range(106))
    assert np.array_equal(FLIP106[FLIP106], np.arange(106))  # an involution
    pts = np.random.RandomState(0).rand(106, 2)
    twice = flip_points(flip_points(pts))
    np.testing.assert_allclose(twice, pts)
    f = flip_points(pts)
    np.testing.assert_allclose(f[58, 1], pts[55, 1])  # the original kept y here (bug)
    legacy = flip_points(pts, legacy=True)
    np.testing.assert_allclose(legacy[58, 1], pts[58, 1])
    five = np.array([[0.3, 0.4], [0.7, 0.41], [0.5, 0.6], [0.35, 0.8], [0.65, 0.81]])
    np.testing.assert_allclose(flip_points(five)[0], [0.3, 0.41])


def test_landmark_lists_and_crops():
    samples = read_landmark_list(shared_path('data', 'landmarks5', 'new_training.txt'), 'cuhk')
    assert len(samples) == 10000 and samples[0][2].shape == (5, 2)
    job = Landmark5Job(samples[:3], 48, 1, min_bs=20)
    records, stats = job(0, 0)
    assert records and all(r[0] == 'landmark' and r[2][0] == -2 and len(r[2]) == 11 for r in records)
    pts = from_vector(records[0][2][1:], 5)
    assert (pts > 0).all() and (pts < 1.05).all()
    assert pts[0, 0] < pts[1, 0]  # left eye left of right eye


def test_106_crops_and_list_errors(tmp_path):
    img = np.random.RandomState(0).randint(0, 255, (200, 200, 3)).astype(np.uint8)
    cv2.imwrite(str(tmp_path / 'f.jpg'), img)
    t = np.linspace(0, 2 * np.pi, 106, endpoint=False)
    pts = np.stack([100 + 40 * np.cos(t), 100 + 50 * np.sin(t)], 1)
    lst = tmp_path / 'l.txt'
    lst.write_text('f.jpg ' + ' '.join('%.1f' % v for v in pts.ravel()) + '\n')
    samples = read_landmark_list(str(lst), 'l106')
    records, stats = Landmark106Job(samples, 80, 3)(0, 0)
    assert len(records) == 3 and len(records[0][2]) == 213
    lst.write_text('f.jpg 1 2 3\n')
    with pytest.raises(ListError, match='l.txt:1'):
        read_landmark_list(str(lst), 'l106')


def test_celeba_cut_geometry():
    img = np.zeros((600, 500, 3), np.uint8)
    box = np.array([200, 250, 100, 120], float)
    pts = np.array([[230, 290], [270, 290], [250, 315], [235, 340], [265, 340]], float)
    cut, bx, p = celeba_cut(img, box, pts)
    assert cut.shape[0] <= 600 and (p >= 0).all()
    assert p[:, 0].max() < cut.shape[1] and p[:, 1].max() < cut.shape[0]


def test_celeba_lists_and_cut_cli(tmp_path):
    from prepare_data import celeba
    (tmp_path / 'bbox.txt').write_text('2\nimage_id x_1 y_1 width height\n000001.jpg 200 250 100 120\n')
    (tmp_path / 'lm.txt').write_text('2\nheader\n000001.jpg 230 290 270 290 250 315 235 340 265 340\n')
    out = tmp_path / 'all.txt'
    assert celeba.main(['lists', '--bbox', str(tmp_path / 'bbox.txt'), '--landmarks', str(tmp_path / 'lm.txt'),
                        '--out', str(out)]) == 0
    assert out.read_text().split()[:5] == ['000001.jpg', '200.0', '250.0', '100.0', '120.0']
    imgs = tmp_path / 'img'
    imgs.mkdir()
    cv2.imwrite(str(imgs / '000001.jpg'), np.zeros((600, 500, 3), np.uint8))
    cut_list = tmp_path / 'cut.txt'
    assert celeba.main(['cut', '--list', str(out), '--images', str(imgs), '--out_images', str(tmp_path / 'cut'),
                        '--out', str(cut_list)]) == 0
    (path, box, pts), = read_landmark_list(str(cut_list), 'celeba', str(tmp_path / 'cut'))
    assert os.path.isfile(path) and pts.shape == (5, 2)
    (tmp_path / 'bad.txt').write_text('2\nh\n000001.jpg 1 2\n')
    assert celeba.main(['lists', '--bbox', str(tmp_path / 'bad.txt'), '--landmarks', str(tmp_path / 'lm.txt'),
                        '--out', str(out)]) == 2


def test_raw_and_jpeg_crops_decode():
    from core.common.packed import decode_image, encode_raw
    from prepare_data.writers import encode
    img = np.full((20, 20, 3), 7, np.uint8)
    img[0, 0] = (255, 216, 255)  # raw pixels that look like a JPEG start must still decode as raw
    np.testing.assert_array_equal(decode_image(encode_raw(img)), img)
    assert decode_image(encode(img)).shape == (20, 20, 3)
    assert decode_image(b'RAW\x00abcd') is None  # 4 bytes: not a square of pixels


def test_end_to_end_on_real_wider_images(tmp_path):
    root = shared_path('data', 'widerface')
    mat = wider.read_mat(os.path.join(root, 'wider_face_split', 'wider_face_train.mat'))
    kept, _ = wider.build_annotations(mat, os.path.join(root, 'WIDER_train', 'images'))
    anno = str(tmp_path / 'anno.txt')
    wider.write_annotations(kept[:3], anno, str(tmp_path / 'train.txt'))
    for size in (20, 48):
        m = generate(anno, size, str(tmp_path / 's'), workers=2, seed=1)
        assert m['counts']['neg'] >= 150 and m['counts']['pos'] > 0
    rep = assemble(str(tmp_path / 's' / '20'), str(tmp_path / 'l.txt'))
    from core.train import batches as D
    entries = D.read_sample_list(str(tmp_path / 'l.txt'))
    src = D.SampleSource(entries, 20)
    img, code, bbox, _ = src.get(0)
    assert img.shape == (20, 20, 3) and code == 1 and np.abs(bbox).max() < 1
    assert sum(t for _, t in rep.values()) == len(entries)


def _jpg_pools(folder):
    """jpg class pools of 30 positives, 90 parts, 500 negatives and 5,000 mined negatives in ``folder``."""
    folder.mkdir()
    sizes = {'pos': 30, 'part': 90, 'neg': 500, 'neg_hard': 5000}
    codes = {'pos': 1, 'part': -1, 'neg': 0, 'neg_hard': 0}
    for cls, n in sizes.items():
        (folder / (cls + '.txt')).write_text(''.join('%s/%d.jpg %d\n' % (cls, i, codes[cls]) for i in range(n)))
    return folder


def test_imglist_keep_ratio_scales_every_class_by_the_scarcest(tmp_path):
    from prepare_data.gen_imglist import assemble
    folder = _jpg_pools(tmp_path / 'pools')
    plain = assemble(str(folder), str(tmp_path / 'a.txt'), with_hard=True)
    assert plain['neg_hard'] == (5000, 5000) and plain['pos'] == (30, 30)  # small pools taken whole
    kept = assemble(str(folder), str(tmp_path / 'b.txt'), with_hard=True, keep_ratio=True)
    assert {c: t for c, (_, t) in kept.items()} == {'pos': 30, 'part': 30, 'neg': 60, 'neg_hard': 30}
    assert len(open(tmp_path / 'b.txt').read().split('\n')) == 151


def test_imglist_extra_roots_join_the_positive_and_part_pools(tmp_path):
    from prepare_data.gen_imglist import assemble
    pools = {'main': {'pos': 30, 'part': 90, 'neg': 500, 'neg_hard': 5000}, 'extra': {'pos': 20, 'part': 4}}
    codes = {'pos': 1, 'part': -1, 'neg': 0, 'neg_hard': 0}
    for root, sizes in pools.items():
        (tmp_path / root).mkdir()
        for cls, n in sizes.items():
            (tmp_path / root / (cls + '.txt')).write_text(''.join('%s/%s/%d.jpg %d\n' % (root, cls, i, codes[cls])
                                                                  for i in range(n)))
    out = tmp_path / 'lists' / 'o.txt'
    rep = assemble(str(tmp_path / 'main'), str(out), with_hard=True, keep_ratio=True, seed=3,
                   extra=[str(tmp_path / 'extra')])
    # 50 positives now (30 + 20): the scarcest pool, so the recipe's 1 : 1 : 2 : 1 grows with them
    assert {c: t for c, (_, t) in rep.items()} == {'pos': 50, 'part': 50, 'neg': 100, 'neg_hard': 50}
    assert rep['pos'] == (50, 50) and rep['part'] == (94, 50)
    lines = out.read_text().splitlines()
    assert lines[:50] == ['main/pos/%d.jpg 1' % i for i in range(30)] + ['extra/pos/%d.jpg 1' % i for i in range(20)]
    part = [ln for ln in lines if ln.endswith(' -1')]
    assert len(part) == len(set(part)) == 50 and set(part) <= set(
        ['main/part/%d.jpg -1' % i for i in range(90)] + ['extra/part/%d.jpg -1' % i for i in range(4)])
    assert not any(ln.startswith('extra/neg') for ln in lines)
    # without the extra root the draws are the plain list's
    plain = assemble(str(tmp_path / 'main'), str(tmp_path / 'p.txt'), with_hard=True, keep_ratio=True, seed=3)
    assert plain['pos'] == (30, 30) and plain['neg'] == (500, 60)
    (tmp_path / 'extra' / 'part.txt').unlink()
    with pytest.raises(FileNotFoundError, match='part'):
        assemble(str(tmp_path / 'main'), str(tmp_path / 'q.txt'), extra=[str(tmp_path / 'extra')])
    assert not (tmp_path / 'q.txt').exists()


def test_imglist_hard_teacher_share_keeps_the_most_face_like_mined_negatives(tmp_path):
    from prepare_data.gen_imglist import ranked_pick
    folder = _jpg_pools(tmp_path / 'pools')
    asked = []

    def scores(where, cls, n):  # the first mined negatives are the most face-like
        asked.append((where, cls, n))
        return 1 - np.arange(n) / float(n)

    def lines(name, share):
        rep = assemble(str(folder), str(tmp_path / name), with_hard=True, keep_ratio=True, seed=3,
                       hard_scores=scores, hard_share=share)
        return rep, (tmp_path / name).read_text().splitlines()
    plain_rep, plain = lines('plain.txt', 0.0)
    half_rep, half = lines('half.txt', 0.5)
    assert asked == [(str(folder), 'neg_hard', 5000)]  # only the mined negatives are ranked, and only when asked
    assert half[:-30] == plain[:-30]  # positives, parts and random negatives: the plain list's draws
    hard = [int(ln.split('/')[1].split('.')[0]) for ln in half[-30:]]
    assert len(set(hard)) == 30 and set(range(15)) <= set(hard)  # the 15 most face-like, 15 others at random
    assert len([i for i in hard if i >= 15]) == 15 and half_rep['neg_hard'][:2] == (5000, 30)
    assert half_rep['neg_hard'][2] == sum(1 for i in hard if i <= 2500)  # those the teacher calls faces
    whole_rep, whole = lines('whole.txt', 1.0)
    assert whole[-30:] == ['neg_hard/%d.jpg 0' % i for i in range(30)] and whole_rep['neg_hard'] == (5000, 30, 30)
    pick, faces = ranked_pick(np.random.RandomState(0), np.array([0.1, 0.9, 0.2, 0.8, 0.5]), 3, 2 / 3.)
    assert list(pick[:3]) != [] and {1, 3} <= set(pick) and len(pick) == 3 and faces >= 2


def test_sample_generation_killed_at_any_moment_resumes_to_the_same_bytes(tmp_path):
    """SIGKILL at several points of gen_data — including early in a resume, while the class files are
    being cut back — then a rerun: the packed files equal an uninterrupted run's, byte for byte."""
    import json
    import signal
    import subprocess
    import sys
    import time
    from conftest import REPO
    anno = _wider_subset_anno(tmp_path, 500)
    cmd = [sys.executable, 'prepare_data/gen_data.py', '--size', '24', '--anno', anno, '--workers', '1', '--base_num', '3']
    ref = str(tmp_path / 'ref')
    start = time.monotonic()
    subprocess.run(cmd + ['--out', ref], cwd=REPO, check=True, capture_output=True)
    whole = time.monotonic() - start
    cut = str(tmp_path / 'cut')
    state = os.path.join(cut, '24', 'state_manifest.json')
    env = dict(os.environ, MTCNN_CHECKPOINT_SECONDS='0.3')

    def done():
        try:
            with open(state) as f:
                return json.load(f)['done']
        except (OSError, ValueError, KeyError):
            return 0
    # Kills at a point of progress (the saved state's item count, polled), each followed by one soon after
    # the next start, while a resume is still cutting the class files back (a sixth of the whole run's
    # time: far less than the work left, on any machine). Nothing depends on how fast this machine is.
    for target in (150, 300):
        for early in (False, True):
            p = subprocess.Popen(cmd + ['--out', cut], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 env=env)
            if early:
                time.sleep(whole / 6)
            else:
                deadline = time.monotonic() + 300
                while done() < target and p.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.02)
            assert p.poll() is None, 'gen_data ended before the planned kill'
            p.send_signal(signal.SIGKILL)
            p.wait()
    assert not os.path.exists(os.path.join(cut, '24', 'manifest.json'))  # still unfinished
    r = subprocess.run(cmd + ['--out', cut], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0 and 'resuming after' in r.stdout, r.stdout[-1000:] + r.stderr[-2000:]
    for name in ('pos', 'part', 'neg'):
        for ext in ('.rec', '.idx'):
            a = open(os.path.join(ref, '24', name + ext), 'rb').read()
            b = open(os.path.join(cut, '24', name + ext), 'rb').read()
            assert a == b, name + ext


def _wider_subset_anno(tmp_path, n):
    from prepare_data import wider
    root = shared_path('data', 'widerface')
    kept, _ = wider.build_annotations(wider.read_mat(os.path.join(root, 'wider_face_split', 'wider_face_train.mat')),
                                      os.path.join(root, 'WIDER_train', 'images'))
    anno = str(tmp_path / 'anno.txt')
    wider.write_annotations(kept[:n], anno)
    return anno


def test_list_draws_equal_the_legacy_choice_with_small_indices():
    from prepare_data.gen_imglist import draw
    for n, k, seed in ((10, 3, 0), (100003, 777, 5), (2000, 2000, 1)):
        a = np.random.RandomState(seed).choice(n, k, replace=False)
        b = draw(np.random.RandomState(seed), n, k)
        assert b.dtype == np.int32 and np.array_equal(a, b)
