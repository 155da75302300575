"""--scheme zqcnn: ZQCNN's resampling, NMS and box rules against literal transcriptions of its C code,
the cascade against the ZQCNN C++ binary's boxes (tests/data/zqcnn_reference.txt), the OpenCV backend."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, SHARED, random_model, shared_path
from core.detect import zqcnn_scheme as zs
from core.common.fileio import FormatError

sys.path.insert(0, os.path.join(REPO, 'tools'))
import zqcnn_parity  # noqa: E402

F = np.float32
REFERENCE = os.path.join(REPO, 'tests', 'data', 'zqcnn_reference.txt')


def literal_resize(planes, off_x, off_y, rw, rh, out_w, out_h):
    """ZQCNN's zq_cnn_resize_without_safeborder_32f_align0, line by line, on C×H×W float32."""
    C, H, W = planes.shape
    w_step, h_step = F(F(1) / F(out_w)) * F(rw), F(F(1) / F(out_h)) * F(rh)
    xs, coord = [], F(F(0.5) * w_step - F(0.5) + F(off_x))
    for _ in range(out_w):
        x0 = int(np.floor(coord))
        xs.append((min(W - 1, max(0, x0)), min(W - 1, max(0, x0 + 1)), F(coord - F(x0))))
        coord = F(coord + w_step)
    out = np.zeros((C, out_h, out_w), F)
    coord_y = F(F(0.5) * h_step - F(0.5) + F(off_y))
    for h in range(out_h):
        y0 = int(np.floor(coord_y))
        sy = F(coord_y - F(y0))
        r0, r1 = planes[:, min(H - 1, max(0, y0))], planes[:, min(H - 1, max(0, y0 + 1))]
        for w, (x0, x1, sx) in enumerate(xs):
            for c in range(C):
                res0 = F(r0[c, x0] + F(r0[c, x1] - r0[c, x0]) * sx)
                res1 = F(r1[c, x0] + F(r1[c, x1] - r1[c, x0]) * sx)
                out[c, h, w] = F(res0 + F(res1 - res0) * sy)
        coord_y = F(coord_y + h_step)
    return out


def literal_nms(boxes, area, scores, thresh, mode, count_thresh=0, check=None):
    """ZQCNN's ZQ_CNN_BBoxUtils::_nms (one thread), line by line -> kept indices in input order."""
    n = len(boxes)
    exist = [True] * n
    order = sorted(range(n), key=lambda i: scores[i])  # ascending; the loop pops the back
    heros, overlaps = [], []
    while order:
        o = order.pop()
        if o < 0:
            continue
        heros.append(o)
        cur = 0
        exist[o] = False
        for k in range(n):
            if not exist[k]:
                continue
            mx = F(max(F(min(boxes[k][2], boxes[o][2])) - F(max(boxes[k][0], boxes[o][0])) + F(1), F(0)))
            my = F(max(F(min(boxes[k][3], boxes[o][3])) - F(max(boxes[k][1], boxes[o][1])) + F(1), F(0)))
            inter = F(mx * my)
            a1, a2 = F(area[k]), F(area[o])
            iou = F(inter / F(a1 + a2 - inter)) if mode == 'Union' else F(inter / min(a1, a2))
            if iou > thresh:
                cur += 1
                exist[k] = False
                order = [-1 if v == k else v for v in order]
        overlaps.append(cur)
    for h, cur in zip(heros, overlaps):
        if check is None or not check[h] or cur >= count_thresh:
            exist[h] = True
    return [i for i in range(n) if exist[i]]


def test_c_round_halves_away_from_zero():
    assert zs.c_round([0.5, 1.5, 2.5, -0.5, -1.5, 0.49]).tolist() == [1, 2, 3, -1, -2, 0]


def test_pyramid_ends_with_the_short_side_on_the_cell():
    scales = zs.pyramid_scales(640, 480, 20)
    assert scales[0] == F(1.0) and all(a > b for a, b in zip(scales, scales[1:]))
    assert int(np.ceil(F(480) * scales[-1])) == 20
    assert len(zs.pyramid_scales(640, 480, 40)) < len(scales)


@pytest.mark.parametrize('size', [(7, 5), (23, 19), (40, 30)])  # down, slightly down, up
def test_whole_image_resize_is_bit_identical_to_zqcnn(size):
    rng = np.random.RandomState(1)
    hwc = rng.uniform(-1, 1, (21, 29, 3)).astype(F)
    planes = np.ascontiguousarray(hwc.transpose(2, 0, 1))
    ref = literal_resize(planes, 0, 0, 29, 21, *size)
    assert np.array_equal(zs.resize_image(hwc, *size), ref)
    assert np.array_equal(zs.resize_rect(planes, 0, 0, 29, 21, *size), ref)


def test_resize_in_strips_into_kept_buffers_stays_bit_identical(monkeypatch):
    monkeypatch.setattr(zs, 'STRIP_PIXELS', 70)  # 40x30 output: strips of one row and a last short one
    rng = np.random.RandomState(4)
    hwc = rng.uniform(-1, 1, (21, 29, 3)).astype(F)
    planes = np.ascontiguousarray(hwc.transpose(2, 0, 1))
    work = {}
    for size in ((40, 30), (23, 19), (40, 30)):  # a size again: its buffers are reused
        ref = literal_resize(planes, 0, 0, 29, 21, *size)
        assert np.array_equal(zs.resize_image(hwc, *size, work=work), ref)


def test_crops_outside_the_image_repeat_its_edges_as_zqcnn():
    rng = np.random.RandomState(2)
    planes = rng.uniform(-1, 1, (3, 30, 40)).astype(F)
    boxes = np.array([[-5, -3, 12, 20], [30, 22, 47, 35], [3, 4, 33, 29]])
    crops = zs.crop_batch(planes, boxes, 24)
    for b, crop in zip(boxes, crops):
        assert np.array_equal(crop, literal_resize(planes, b[0], b[1], b[2] - b[0], b[3] - b[1], 24, 24))


def test_crops_gathered_by_remap_are_the_same_bits(monkeypatch):
    rng = np.random.RandomState(5)
    planes = rng.uniform(-1, 1, (3, 30, 40)).astype(F)
    hwc = np.ascontiguousarray(planes.transpose(1, 2, 0))
    boxes = np.array([[-5, -3, 12, 20], [30, 22, 47, 35], [3, 4, 33, 29], [0, 0, 39, 29], [10, 10, 11, 12]])
    ref = zs.crop_batch(planes, boxes, (24, 20))
    assert np.array_equal(zs.crop_batch(planes, boxes, (24, 20), hwc), ref)
    monkeypatch.setattr(zs, 'REMAP_MAX', 50)  # two crops per remap call: three calls
    assert np.array_equal(zs.crop_batch(planes, boxes, (24, 20), hwc), ref)


@pytest.mark.parametrize('mode', ['Union', 'Min'])
def test_nms_keeps_what_zqcnn_keeps(mode):
    rng = np.random.RandomState(3)
    xy = rng.randint(0, 60, (60, 2))
    wh = rng.randint(8, 30, (60, 2))
    boxes = np.column_stack([xy, xy + wh])
    area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).astype(F)
    scores = rng.permutation(60).astype(F) / 60
    check = rng.rand(60) < 0.5
    for thresh, count in ((0.3, 0), (0.5, 2), (0.7, 1)):
        ref = literal_nms(boxes.tolist(), area, scores, F(thresh), mode, count, check)
        assert zs.zq_nms(boxes, area, scores, thresh, mode, count, check).tolist() == ref
        # the one-row-per-box path of large inputs gives the same
        assert zs.zq_nms(boxes, area, scores, thresh, mode, count, check, matrix_max=0).tolist() == ref
    # groups: independent runs at once, each the same as alone
    groups = rng.randint(0, 3, 60)
    runs = [np.flatnonzero(groups == g) for g in range(3)]
    alone = sorted(int(idx[k]) for idx in runs for k in zs.zq_nms(boxes[idx], area[idx], scores[idx], 0.4, mode,
                                                                  2, check[idx]))
    for matrix_max in (1024, 0):
        assert zs.zq_nms(boxes, area, scores, 0.4, mode, 2, check, matrix_max, groups).tolist() == alone


def test_level_boxes_run_each_block_on_its_own():
    """All blocks of a level at once (groups of one NMS) give what a loop over the blocks gives."""
    det = zs.ZqcnnDetector.__new__(zs.ZqcnnDetector)
    det.cell, det.stride, det.thresh, det.level_nms, det.overlap_count = 20, 4, [0.6, 0.7, 0.7], 0.45, 3
    prob = np.random.RandomState(6).uniform(0, 1, (70, 100)).astype(F) ** 3
    border = 5
    found = []
    for r0, r1, c0, c1 in zs._blocks(70, 100, border):
        rr, cc = np.nonzero(prob[r0:r1, c0:c1] > 0.6)
        rr, cc = rr + r0, cc + c0
        boxes = np.stack([cc * 4, rr * 4, cc * 4 + 20, rr * 4 + 20], 1)
        check = (rr >= border) & (rr < 70 - border) & (cc >= border) & (cc < 100 - border)
        keep = zs.zq_nms(boxes, np.full(len(boxes), 400, F), prob[rr, cc], 0.45, 'Union', 3, check)
        found.append(np.column_stack([boxes[keep], prob[rr, cc][keep]]))
    ref = np.vstack(found)
    got = det._level_boxes(prob, (F(1), F(1)))
    assert len(ref) > 50 and np.array_equal(got, ref)


def test_refine_and_square_as_zqcnn():
    boxes = np.array([[10, 20, 29, 59]])
    assert zs.refine(boxes, np.zeros((1, 4)), square=True).tolist() == [[0, 20, 39, 59]]
    assert zs.refine(boxes, np.zeros((1, 4)), square=False).tolist() == [[10, 20, 29, 59]]
    # +1 side lengths (20 × 40): a regression of 0.1 moves x1 by 2 px, y2 by 4 px
    assert zs.refine(boxes, np.array([[0.1, 0, 0, 0.1]]), square=False).tolist() == [[12, 20, 29, 63]]


def test_block_nms_blocks_overlap_and_skip_the_remainder_as_zqcnn():
    assert zs._blocks(20, 30, 5) == [(0, 20, 0, 30)]
    blocks = zs._blocks(70, 100, 5)
    assert len(blocks) == 2 * 3 and blocks[0][:2] == (0, 35) and blocks[0][2:] == (0, 33)
    assert blocks[1][2] == 33 - 5  # the next block starts cell/stride map cells early
    cover = np.zeros((70, 100), int)
    for r0, r1, c0, c1 in blocks:
        cover[r0:r1, c0:c1] += 1
    # ZQCNN ends the last block of a row at the map's edge only when it is the last block of all
    # (its test compares the column index with the block count): the remainder column is never searched
    assert cover[:, :99].min() >= 1 and cover[:, 99].max() == 0


def test_random_cascade_runs_and_nothing_gives_nothing():
    from core.detect.zqcnn_scheme import ZqcnnDetector
    det = ZqcnnDetector(random_model('Pnet20_v1'), random_model('Rnet_v1'), random_model('Onet_v1', True),
                        thresh=[0.1, 0.1, 0.1], min_face=40)
    img = np.random.RandomState(4).randint(0, 255, (120, 160, 3)).astype(np.uint8)
    boxes, scores, points = det.detect(img)
    assert len(boxes) > 0 and np.all(boxes == np.round(boxes)) and np.all(scores > 0.1)
    assert points.shape == (len(boxes), 5, 2)
    strict = ZqcnnDetector(random_model('Pnet20_v1'), random_model('Rnet_v1'), random_model('Onet_v1'),
                           thresh=[0.999999, 0.99, 0.99])
    assert len(strict.detect(np.zeros((60, 60, 3), np.uint8))[0]) == 0


def test_opencv_backend_matches_mxnet_for_any_batch():
    from core.detect.cascade import to_backend
    for name, lm in (('Rnet_v1', False), ('Onet_v1', True)):
        model = random_model(name, lm)
        size = model.info['size']
        batch = np.random.RandomState(5).uniform(-1, 1, (5, 3, size, size)).astype(F)
        ref = model(batch)
        got = to_backend(model, 'opencv', threads=1)(batch)
        assert len(got) == len(ref)
        for a, b in zip(got, ref):
            np.testing.assert_allclose(a.reshape(b.shape), b, atol=1e-4)


def test_reference_errors_name_the_line(tmp_path):
    bad = tmp_path / 'ref.txt'
    bad.write_text('models a,b,c 1,2,3 sha 0\npoint default thresh 0.6,0.6,0.9 nms 0.4,0.5,0.5 min_face 20 '
                   'factor 0.709\nimage x.jpg 10 10 faces 2\n1 2 3 4 0.9\n1 2 3\n')
    with pytest.raises(FormatError, match=r'ref\.txt:5'):
        zqcnn_parity.read_reference(str(bad))
    bad.write_text('models a,b,c 1,2,3 sha 0\n')
    with pytest.raises(FormatError, match='incomplete'):
        zqcnn_parity.read_reference(str(bad))
    with pytest.raises(FormatError, match='no boxes of images/none.jpg at the default point'):
        zqcnn_parity.reference_boxes(REFERENCE, 'default', 'images/none.jpg')


def test_a_reference_of_other_weights_asks_for_a_rerun(tmp_path):
    stale = tmp_path / 'ref.txt'
    text = open(REFERENCE).read()
    stale.write_text(re.sub(r'(?m)^(models .* sha )\w+', r'\g<1>0123456789abcdef', text))
    with pytest.raises(FormatError, match='rerun scripts/zqcnn_reference.sh'):
        zqcnn_parity.compare(str(stale), SHARED)


def test_box_matching_counts_missing_and_extra():
    theirs = np.array([[0, 0, 10, 10, 1], [50, 50, 60, 60, 1]], float)
    assert zqcnn_parity.match(theirs + [1, 0, 0, 0, 0], theirs) == (1, 0, 0)
    assert zqcnn_parity.match(theirs[:1], theirs) == (0, 1, 0)
    assert zqcnn_parity.match(theirs, theirs[:1]) == (0, 0, 1)


def test_boxes_equal_zqcnn_cpp_on_4jpg_and_20_wider_val_images():
    """The C++ binary's boxes (scripts/zqcnn_reference.sh) at both operating points, on the default
    models: this detector with ONNX Runtime must give them within 1 px, none missing, none extra."""
    shared_path('data', 'widerface', 'WIDER_val', 'images')
    lines = []
    px, missing, extra = zqcnn_parity.compare(REFERENCE, SHARED, backend='onnx', threads=1, report=lines.append)
    assert len(lines) == 42
    assert px <= 1 and missing == 0 and extra == 0, '\n'.join(lines)


def test_scheme_flags_on_the_command_line(tmp_path):
    img = shared_path('images', '4.jpg')
    out = tmp_path / 'dets.txt'
    run = subprocess.run([sys.executable, os.path.join(REPO, 'demo.py'), '--imgfile', img, '--scheme', 'zqcnn',
                          '--save_dets', str(out), '--out', str(tmp_path / 'v.jpg')], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    boxes = np.loadtxt(out, ndmin=2)
    cpp = zqcnn_parity.reference_boxes(REFERENCE, 'default', 'images/4.jpg')  # ZQCNN's C++, the default point
    assert boxes[:, :4].astype(int).tolist() == cpp[:, :4].astype(int).tolist()
    bad = subprocess.run([sys.executable, os.path.join(REPO, 'demo.py'), '--imgfile', img, '--nms', '0.3,0.5,0.5'],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and 'zqcnn' in bad.stderr and 'Traceback' not in bad.stderr
