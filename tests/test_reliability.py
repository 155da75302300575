"""Reliability, by class of bad input: what a tool skips and reports, what stops with one line, what is a bug
(a traceback and a line saying so), and what is left behind (nothing). Cases are planted in temporary files."""
import json
import os
import random
import subprocess
import sys

import cv2
import numpy as np
import pytest

from conftest import REPO, shared_path


def _run(args, **kw):
    env = dict(os.environ, **kw.pop('env', {}))
    return subprocess.run([sys.executable] + args, cwd=REPO, capture_output=True, text=True, env=env, **kw)


# --- per-item fault isolation ------------------------------------------------------------------------------

def test_the_sampler_never_raises_and_keeps_every_crop_inside_the_image():
    """Random boxes (sides 0-60 px, anywhere, also partly or wholly outside the image, flat or thin) on
    random image sizes: no exception, every crop a square of at least one pixel inside the image."""
    from prepare_data.sampling import sample_boxes
    rng = np.random.RandomState(0)
    for case in range(300):
        h, w = int(rng.randint(8, 400)), int(rng.randint(8, 400))
        n = int(rng.randint(0, 6))
        x1 = rng.uniform(-80, w + 40, n)
        y1 = rng.uniform(-80, h + 40, n)
        boxes = np.c_[x1, y1, x1 + rng.uniform(0, 60, n), y1 + rng.uniform(0, 60, n)]
        size = int(rng.choice([12, 20, 24, 48]))
        stats = {}
        for cls, (x, y, s), label in sample_boxes((h, w), boxes, size, base_num=1, rng=random.Random(case),
                                                  stats=stats, min_face=int(rng.choice([1, 5, 20]))):
            assert s >= 1 and x >= 0 and y >= 0 and x + s <= w and y + s <= h, (case, x, y, s, w, h)
            assert np.all(np.isfinite(label))


def test_a_degenerate_box_is_a_counted_skip(tmp_path):
    """A face 4 px wide and 100 px tall (full WIDER FACE has such boxes) used to abort the whole set."""
    from prepare_data.gen_data import generate
    img = np.full((200, 300, 3), 120, np.uint8)
    cv2.imwrite(str(tmp_path / 'a.jpg'), img)
    (tmp_path / 'anno.txt').write_text('%s 100 50 103 150 20 20 80 80\n' % (tmp_path / 'a.jpg'))
    m = generate(str(tmp_path / 'anno.txt'), 20, str(tmp_path / 's'), min_face=20, workers=1)
    assert m['stats']['faces_degenerate'] == 1 and m['stats']['faces_used'] == 1


def test_mining_names_the_images_it_skips(tmp_path):
    img = cv2.imread(shared_path('images', '4.jpg'))
    cv2.imwrite(str(tmp_path / 'good.jpg'), img)
    (tmp_path / 'bad.jpg').write_bytes(b'not a jpeg')
    (tmp_path / 'anno.txt').write_text('%s 10 10 80 80\n%s 10 10 80 80\n' % (tmp_path / 'bad.jpg', tmp_path / 'good.jpg'))
    r = _run(['prepare_data/gen_hard_example.py', '--test_mode', 'rnet', '--prefix', 'model/default/pnet20', '--epoch',
              '4', '--thresh', '0.5', '--anno', str(tmp_path / 'anno.txt'), '--out', str(tmp_path / 's'), '--workers',
              '1', '--backend', 'onnx', '--min_recall', '0'])
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'warning: skipped 1 item(s) with bad input, e.g. %s: cannot decode image' % (tmp_path / 'bad.jpg') in r.stdout
    man = json.load(open(tmp_path / 's' / '24' / 'manifest_hard.json'))
    assert man['stats']['skipped'] == 1 and man['stats']['images'] == 1


def test_a_landmark_list_line_with_absurd_points_is_skipped_and_reported(tmp_path):
    """A point at x = 5000 in an 80x80 crop is not evaluated (it would report an NME of hundreds of %)."""
    src = shared_path('data', 'landmarks5', 'new_testing.txt')
    base = os.path.dirname(src)
    rows = [ln.split() for ln in open(src).read().splitlines()[:6]]
    rows[2][1] = '5000'
    rows[4][0] = 'missing.jpg'
    (tmp_path / 'l.txt').write_text(''.join(' '.join([os.path.join(base, r[0])] + r[1:]) + '\n' for r in rows))
    r = _run(['tools/eval_landmarks.py', '--prefix', 'model/default/lnet', '--epoch', '64', '--list',
              str(tmp_path / 'l.txt'), '--out', str(tmp_path / 'o')])
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'warning: skipped 2 of 6 lines' in r.stdout and 'points far outside the 80x80 image' in r.stdout
    last = r.stdout.strip().splitlines()[-1]
    assert last.endswith('skipped=2') and float(last.split()[0].split('=')[1]) < 30


def test_detection_over_a_folder_survives_a_bad_image_and_resumes(tmp_path):
    out = str(tmp_path / 'cascade')
    r = _run(['tools/export_onnx.py', '--cascade', '--out', out])
    assert r.returncode == 0, r.stderr[-2000:]
    folder = tmp_path / 'photos'
    folder.mkdir()
    img = cv2.imread(shared_path('images', '4.jpg'))
    for name in ('a.jpg', 'c.jpg'):
        cv2.imwrite(str(folder / name), img)
    (folder / 'b.jpg').write_bytes(b'broken')
    r = _run(['tools/detect_onnx.py', '--models', out, '--folder', str(folder), '--json', str(tmp_path / 'r.json')])
    assert r.returncode == 0 and 'skipped 1 image(s) that could not be read' in r.stderr, r.stderr[-2000:]
    assert [os.path.basename(x['image']) for x in json.load(open(tmp_path / 'r.json'))] == ['a.jpg', 'c.jpg']
    lines = str(tmp_path / 'r.jsonl')
    (tmp_path / 'r.jsonl').write_text(json.dumps(dict(image=str(folder / 'a.jpg'), boxes=[], scores=[])) + '\n')
    r = _run(['tools/detect_onnx.py', '--models', out, '--folder', str(folder), '--json', lines])
    assert r.returncode == 0 and '1 images already done, 2 to go' in r.stdout, r.stdout + r.stderr
    assert [os.path.basename(json.loads(x)['image']) for x in open(lines)] == ['a.jpg', 'c.jpg']


# --- silently wrong no more -----------------------------------------------------------------------------------

def test_a_prob_file_that_scores_no_image_is_an_error(tmp_path):
    from prepare_data import wider
    (tmp_path / 'anno.txt').write_text('/data/e1/a.jpg 1 1 20 20\n')
    (tmp_path / 'prob.txt').write_text('/other/e2/b.jpg 0.9\n')
    with pytest.raises(ValueError, match='prob.txt: scores none of the 1 annotated images'):
        wider.read_prob(str(tmp_path / 'prob.txt'), wider.read_anno(str(tmp_path / 'anno.txt')))


def test_landmark_inspection_only_claims_the_files_it_wrote(tmp_path):
    (tmp_path / 'l.txt').write_text('/nope/a.jpg 30 50 40 35 45 40 40 50 60 60\n')
    r = _run(['tools/inspect_landmarks.py', '--list', str(tmp_path / 'l.txt'), '--out', str(tmp_path / 'c')])
    assert r.returncode == 0, r.stderr
    assert 'no readable image for worst.png' in r.stdout and not (tmp_path / 'c' / 'worst.png').exists()
    assert 'WARN' not in r.stderr  # OpenCV's own warnings are quiet: the tool says what matters


# --- input errors against bugs --------------------------------------------------------------------------------

def test_bad_input_is_one_line_and_a_bug_is_a_traceback_called_a_bug(tmp_path):
    code = ("import sys; sys.path.insert(0, %r); import cli\n"
            "def bad(_):\n    from core.common.errors import SettingError\n    raise SettingError('--x: 3 is too many')\n"
            "def bug(_):\n    return {}['k']\n"
            "sys.exit(cli.run(bad if sys.argv[1] == 'bad' else bug))\n" % REPO)
    (tmp_path / 'm.py').write_text(code)
    r = _run([str(tmp_path / 'm.py'), 'bad'])
    assert r.returncode == 2 and r.stderr == 'error: --x: 3 is too many\n'
    r = _run([str(tmp_path / 'm.py'), 'bug'])
    assert r.returncode == 3 and 'Traceback' in r.stderr and "KeyError: 'k'" in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith('error: the above is a bug in train-mtcnn')


# --- nothing left behind --------------------------------------------------------------------------------------

def test_onnx_runtime_leaves_nothing_in_the_temp_folder(tmp_path):
    """ONNX Runtime's import may write a telemetry session file (.ses) into $TMPDIR (whether it does
    varies from run to run): the import runs with $TMPDIR at a fixed folder in the user's cache (so a process
    killed mid-import leaves nothing in the temp folder), or, with no writable cache, at a scratch folder
    removed right after. A stand-in module that always writes such a file shows where it goes."""
    tmp, cache, fake = tmp_path / 'tmp', tmp_path / 'cache', tmp_path / 'fake'
    tmp.mkdir()
    fake.mkdir()
    (fake / 'onnxruntime.py').write_text("import os\nopen(os.path.join(os.environ['TMPDIR'], '.ses'), 'w').close()\n")
    code = ('import sys; sys.path.insert(0, %r)\n'
            'from core.runtime.onnx_runtime import onnxruntime\nonnxruntime()\n' % REPO)
    for env in ({}, dict(PYTHONPATH=str(fake))):  # the real module, then the stand-in
        r = _run(['-c', code], env=dict(env, TMPDIR=str(tmp), XDG_CACHE_HOME=str(cache)))
        assert r.returncode == 0, r.stderr
        assert os.listdir(str(tmp)) == []
    assert os.listdir(str(cache / 'train-mtcnn' / 'onnxruntime')) == ['.ses']
    (tmp_path / 'not-a-folder').write_text('')
    r = _run(['-c', code], env=dict(PYTHONPATH=str(fake), TMPDIR=str(tmp), XDG_CACHE_HOME=str(tmp_path / 'not-a-folder')))
    assert r.returncode == 0, r.stderr
    assert os.listdir(str(tmp)) == []
