"""tools/degrade_split.py: a seeded degraded copy of an evaluation split (same faces, poorer pixels)."""
import os
import subprocess
import sys

import cv2
import numpy as np

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, 'tools'))
import degrade_split as D  # noqa: E402


def _split(tmp_path, n=6):
    rng = np.random.default_rng(0)
    lines = []
    for k in range(n):
        path = tmp_path / 'src' / '0--Event' / ('img_%d.jpg' % k)
        path.parent.mkdir(parents=True, exist_ok=True)
        img = cv2.GaussianBlur(rng.integers(0, 255, (60, 80, 3)).astype(np.uint8), (0, 0), 2)
        cv2.imwrite(str(path), img)
        lines.append('%s 10 12 30 40 %d 5 %d 25' % (path, 40 + k, 60 + k))
    anno = tmp_path / 'anno.txt'
    anno.write_text('\n'.join(lines) + '\n')
    return anno


def test_each_degradation_does_what_it_says():
    rng = np.random.default_rng(1)
    img = np.tile(np.arange(0, 240, 3, dtype=np.uint8)[None, :, None], (60, 1, 3))
    img[::2] = 255 - img[::2]  # fine detail for blur and half resolution to lose
    sharp = np.abs(np.diff(img.astype(float), axis=0)).mean()
    assert np.abs(np.diff(D.degrade(img, 'blur', rng).astype(float), axis=0)).mean() < 0.5 * sharp
    assert np.abs(np.diff(D.degrade(img, 'half', rng).astype(float), axis=0)).mean() < 0.5 * sharp
    assert abs(D.degrade(img, 'dim', rng).mean() - 0.45 * img.mean()) < 1
    noisy = D.degrade(np.full((50, 50, 3), 128, np.uint8), 'noise', rng).astype(float)
    assert 10 < noisy.std() < 14 and abs(noisy.mean() - 128) < 1
    for kind in D.KINDS:
        assert D.degrade(img, kind, rng).shape == img.shape


def test_the_copy_keeps_the_faces_and_is_reproducible(tmp_path):
    anno = _split(tmp_path)
    (tmp_path / 'src' / '0--Event' / 'img_5.jpg').write_bytes(b'not a jpeg')
    counts = D.degrade_split(str(anno), str(tmp_path / 'a'), seed=0, progress=False)
    assert counts['unreadable'] == 1 and sum(counts[k] for k in D.KINDS) == 5
    from prepare_data.wider import read_anno
    src, out = read_anno(str(anno))[:5], read_anno(str(tmp_path / 'a' / 'anno.txt'))
    assert [b.tolist() for _, b in out] == [b.tolist() for _, b in src]
    for (p, _), (q, _) in zip(src, out):
        assert os.path.basename(q) == os.path.basename(p) and cv2.imread(q).shape == cv2.imread(p).shape
    D.degrade_split(str(anno), str(tmp_path / 'b'), seed=0, progress=False)
    D.degrade_split(str(anno), str(tmp_path / 'c'), seed=1, progress=False)
    same = [open(q.replace(os.sep + 'a' + os.sep, os.sep + 'b' + os.sep), 'rb').read() == open(q, 'rb').read()
            for q, _ in out]
    other = [open(q.replace(os.sep + 'a' + os.sep, os.sep + 'c' + os.sep), 'rb').read() == open(q, 'rb').read()
             for q, _ in out]
    assert all(same) and not all(other)


def test_command_line_errors_are_one_line(tmp_path):
    anno = _split(tmp_path, 2)
    run = lambda *a: subprocess.run([sys.executable, 'tools/degrade_split.py'] + list(a), cwd=REPO,  # noqa: E731
                                    capture_output=True, text=True)
    r = run('--anno', str(anno), '--out', str(tmp_path / 'o'))
    assert r.returncode == 0 and 'anno.txt' in r.stdout, r.stderr
    r = run('--anno', str(tmp_path / 'missing.txt'), '--out', str(tmp_path / 'o'))
    assert r.returncode == 2 and 'missing.txt' in r.stderr and 'Traceback' not in r.stderr
    r = run('--anno', str(anno), '--out', str(tmp_path / 'o'), '--quality', '0')
    assert r.returncode == 2 and '--quality' in r.stderr
