"""The face pipeline: one call shape for every backend, aligned crops, batched input, threads sharing a
cascade, quality signals, and the folder tool with crops and JSON lines."""
import json
import os
import subprocess
import sys
import threading

import cv2
import numpy as np
import pytest

from conftest import REPO, shared_path
from core.detect import alignment


def _img():
    return cv2.imread(shared_path('images', '4.jpg'))


# --- alignment ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize('size', ['112', '96x112', '160'])
def test_the_points_land_on_the_template(size):
    """Synthetic images with known points: after the warp, each point sits on the template within 0.5 px."""
    rng = np.random.RandomState(0)
    tpl = alignment.template(size)
    w, h = alignment.crop_size(size)
    for _ in range(20):
        angle, scale = rng.uniform(-0.8, 0.8), rng.uniform(0.6, 1.4)
        shift = rng.uniform(250, 330, 2)
        rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        pts = tpl @ rot.T + shift  # the template placed somewhere in a 600x600 image
        img = np.zeros((600, 600, 3), np.uint8)
        for x, y in pts:  # a bright dot at each point (bilinear-sampled back)
            cv2.circle(img, (int(round(x)), int(round(y))), 3, (255, 255, 255), -1)
        m = alignment.similarity(pts, tpl)
        warped = np.c_[pts, np.ones(5)] @ m.T
        assert np.abs(warped - tpl).max() < 0.5
        crop = alignment.align(img, pts, size)
        assert crop.shape == (h, w, 3)
        for x, y in tpl:  # each point's dot is where the template says
            assert crop[int(round(y)), int(round(x))].mean() > 100


def test_sizes_and_margins_are_checked():
    assert alignment.crop_size(112) == (112, 112) and alignment.crop_size('96x112') == (96, 112)
    for bad in ('0', '112x96', 'big', '5000'):
        with pytest.raises(ValueError, match='is not a crop size'):
            alignment.crop_size(bad)
    wide = alignment.template(112, margin=0.5)
    assert np.linalg.norm(wide[1] - wide[0]) == pytest.approx(np.linalg.norm(
        alignment.TEMPLATE_112[1] - alignment.TEMPLATE_112[0]) / 1.5)


def test_the_eyes_of_4jpg_sit_on_the_template_row():
    from core.detect.faces import load_cascade
    cascade = load_cascade(point='default', backend='onnx')
    img = _img()
    faces = cascade.detect(img)
    assert len(faces) == 4
    tpl = alignment.template(112)
    for face, crop in zip(faces, cascade.align(img, faces, 112)):
        assert crop.shape == (112, 112, 3)
        eyes = (np.c_[face.points, np.ones(5)] @ alignment.similarity(face.points, tpl).T)[:2]
        # both eyes on the template's eye row, within the least-squares fit of all five points (an open mouth
        # pulls the fit a few pixels; 4.5 % of the crop)
        assert np.abs(eyes[:, 1] - tpl[:2, 1]).max() < 5


# --- the entry point ---------------------------------------------------------------------------------------

def test_every_backend_gives_the_same_faces_through_the_same_call(tmp_path):
    from core.detect.faces import load_cascade
    img = _img()
    onnx = load_cascade(point='default', backend='onnx').detect(img)
    mxnet = load_cascade(point='default', backend='mxnet').detect(img)
    r = subprocess.run([sys.executable, 'tools/export.py', '--to', 'onnx', '--out', str(tmp_path / 'x')], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    exported = load_cascade(models=str(tmp_path / 'x')).detect(img)
    for other in (mxnet, exported):
        assert len(other) == len(onnx) == 4
        for a, b in zip(onnx, other):
            assert np.abs(a.box - b.box).max() < 1.0 and np.abs(a.points - b.points).max() < 1.0
    d = onnx[0].to_dict()
    assert set(d) == {'box', 'score', 'points'} and len(d['points']) == 5 and json.dumps(d)
    with pytest.raises(ValueError, match='NCNN and MNN run an exported folder'):
        load_cascade(backend='ncnn')
    with pytest.raises(ValueError, match='unknown operating point'):
        load_cascade(point='fast')


def test_a_batch_gives_what_one_image_at_a_time_gives():
    from core.detect.faces import load_cascade
    cascade = load_cascade(point='accurate', backend='onnx')
    imgs = [_img(), cv2.imread(shared_path('images', 'test01.jpg')), _img()[:200, :300].copy()]
    one = [cascade.detect(img) for img in imgs]
    many = cascade.detect_batch(imgs)
    for a, b in zip(one, many):
        assert len(a) == len(b)
        for fa, fb in zip(a, b):
            assert np.abs(fa.box - fb.box).max() < 1e-3 and abs(fa.score - fb.score) < 1e-4


@pytest.mark.parametrize('backend', ['onnx', 'mxnet'])
def test_threads_share_one_cascade(backend):
    """Nothing of a call stays on the cascade: four threads detecting at once get each image's own faces."""
    from core.detect.faces import load_cascade
    cascade = load_cascade(point='default', backend=backend)
    imgs = [_img(), cv2.imread(shared_path('images', 'test01.jpg')), cv2.imread(shared_path('images', 'mtcnn-test1.jpg'))]
    want = [[f.box for f in cascade.detect(img)] for img in imgs]
    got, errors = {}, []

    def work(k):
        try:
            for rep in range(3):
                i = (k + rep) % len(imgs)
                got.setdefault((k, rep), (i, [f.box for f in cascade.detect(imgs[i])]))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for i, boxes in got.values():
        assert len(boxes) == len(want[i]) and all(np.abs(a - b).max() < 1e-4 for a, b in zip(boxes, want[i]))


def test_quality_signals():
    from core.detect.faces import load_cascade
    tpl = alignment.TEMPLATE_112
    assert abs(alignment.yaw_estimate(tpl)) < 3  # the frontal template
    turned = tpl.copy()
    turned[2, 0] += 12  # the nose towards the image's right
    assert alignment.yaw_estimate(turned) > 20 and alignment.yaw_estimate(turned * [-1, 1]) < -20
    faces = load_cascade(point='default', backend='onnx', quality_signals=True).detect(_img())
    assert all(set(f.quality) == {'yaw', 'blur'} and f.quality['blur'] > 0 for f in faces)
    sharp = alignment.blur_score(cv2.imread(shared_path('images', '00_.jpg')))
    assert sharp > alignment.blur_score(cv2.GaussianBlur(cv2.imread(shared_path('images', '00_.jpg')), (9, 9), 3))


def test_the_folder_tool_writes_crops_and_json_lines(tmp_path):
    r = subprocess.run([sys.executable, 'tools/export.py', '--to', 'onnx', '--out', str(tmp_path / 'x')], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    folder = tmp_path / 'photos'
    folder.mkdir()
    for name in ('4.jpg', 'test01.jpg'):
        cv2.imwrite(str(folder / name), cv2.imread(shared_path('images', name)))
    (folder / 'bad.jpg').write_bytes(b'nope')
    out = tmp_path / 'faces.jsonl'
    cmd = [sys.executable, 'tools/detect_onnx.py', '--models', str(tmp_path / 'x'), '--folder', str(folder),
           '--align', '112', '--json', str(out), '--workers', '2', '--batch', '1']
    temp = tmp_path / 'temp'  # the tool's own temp folder: its worker pool must leave nothing there
    temp.mkdir()
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=dict(os.environ, TMPDIR=str(temp)))
    assert r.returncode == 0 and 'skipped 1 image(s)' in r.stderr, r.stderr[-2000:]
    assert os.listdir(temp) == []
    lines = [json.loads(x) for x in open(out)]
    assert [os.path.basename(x['image']) for x in lines] == ['4.jpg', 'test01.jpg']
    first = lines[0]
    assert len(first['crops']) == len(first['boxes']) == 4
    assert all(cv2.imread(p).shape == (112, 112, 3) for p in first['crops'])
    assert os.path.dirname(first['crops'][0]) == str(tmp_path / 'faces_crops')
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                       env=dict(os.environ, TMPDIR=str(temp)))  # a rerun skips what is done
    assert '2 images already done, 1 to go' in r.stdout and len(open(out).readlines()) == 2
    assert os.listdir(temp) == []
