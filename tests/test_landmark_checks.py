"""Landmark data checks: planted bad lines (a block shifted up like the CUHK net_7876/_* lines, swapped,
upside-down, outside, collapsed) are found and dropped, good lines of turned heads are kept; on the real
CUHK list the shifted lines are found."""
import os

import cv2
import numpy as np

from core.landmarks.label_checks import check_points, content_offset, outlier_mask
from core.landmarks.points import read_landmark_list
from conftest import shared_path

# left eye, right eye, nose, left mouth, right mouth in an 80 px crop (CUHK-like)
TEMPLATE = np.array([[30, 34], [50, 34], [40, 44], [32, 52], [48, 52]], np.float64)


def _fixture(tmp_path, n_good=60, seed=0):
    rng = np.random.RandomState(seed)
    (tmp_path / 'src' / 'faces').mkdir(parents=True)
    shapes = [TEMPLATE * rng.uniform(0.9, 1.1) + rng.normal(0, 1.2, (5, 2)) + [rng.uniform(-3, 3), rng.uniform(-3, 3)]
              for _ in range(n_good)]
    shapes[0] = TEMPLATE + [8, 0]  # a turned head: off-centre in x, but a correct label
    planted = {}
    for k in range(8):  # shifted up by a third of the crop, as the bad CUHK block
        planted[len(shapes)] = 'off_centre'
        shapes.append(TEMPLATE + [rng.uniform(-2, 2), -27 + rng.uniform(-2, 2)])
    planted[len(shapes)] = 'swapped'
    shapes.append(TEMPLATE[[1, 0, 2, 3, 4]])
    planted[len(shapes)] = 'upside_down'
    shapes.append(TEMPLATE[[3, 4, 2, 0, 1]])
    planted[len(shapes)] = 'outside'
    shapes.append(TEMPLATE + [0, 30])
    planted[len(shapes)] = 'collapsed'
    shapes.append(np.c_[TEMPLATE[:, 0], np.full(5, 40.0)])
    lines = []
    for i, s in enumerate(shapes):
        name = 'faces/f%03d.jpg' % i
        cv2.imwrite(str(tmp_path / 'src' / name), rng.randint(0, 255, (80, 80, 3)).astype(np.uint8))
        lines.append(' '.join([name] + ['%.2f' % v for v in np.r_[s[:, 0], s[:, 1]]]))
    lst = tmp_path / 'src' / 'list.txt'
    lst.write_text('\n'.join(lines) + '\n')
    return str(lst), planted


def test_planted_bad_lines_are_found_and_nothing_else(tmp_path):
    lst, planted = _fixture(tmp_path)
    items = read_landmark_list(lst, 'cuhk')
    flags, score = check_points(np.stack([p for _, _, p in items]), np.full((len(items), 2), 80.0))
    assert set(np.flatnonzero(outlier_mask(flags))) == set(planted)
    for i, check in planted.items():
        assert flags[check][i], (i, check)
    assert score[60:68].min() > score[:60].max()  # the shifted block is the worst


def test_tool_writes_report_grid_and_a_cleaned_list_that_loads(tmp_path):
    from tools.inspect_landmarks import main
    lst, planted = _fixture(tmp_path)
    clean = tmp_path / 'elsewhere' / 'clean.txt'
    assert main(['--list', lst, '--out', str(tmp_path / 'check'), '--drop_outliers', str(clean)]) == 0
    report = (tmp_path / 'check' / 'report.txt').read_text().splitlines()
    assert report[-1].split()[0] == 'all' and int(report[-1].split()[-1]) == len(planted)
    flagged = (tmp_path / 'check' / 'flagged.tsv').read_text().splitlines()[1:]
    assert {int(r.split('\t')[0]) - 1 for r in flagged} == set(planted)
    assert cv2.imread(str(tmp_path / 'check' / 'worst.png')) is not None
    kept = read_landmark_list(str(clean), 'cuhk')  # paths relative to the new list's folder
    assert len(kept) == 60 and all(os.path.isfile(p) for p, _, _ in kept)


def test_content_offset_reads_a_label_shift_without_a_model(capsys, tmp_path):
    """Dark dots drawn at sub-pixel positions; labels one pixel right and 0.5 below them read about
    (-1, -0.5), labels on them about (0, 0)."""
    rng = np.random.RandomState(0)
    grays, dots = [], []
    for _ in range(40):
        img = np.full((80, 80), 200, np.float32)
        pts = rng.uniform(20, 60, (2, 2))
        for x, y in pts:  # a dark Gaussian blob centred on (x, y)
            yy, xx = np.mgrid[0:80, 0:80]
            img -= 150 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 1.5 ** 2))
        grays.append(img)
        dots.append(pts)
    dots = np.stack(dots)
    assert np.abs(content_offset(grays, dots)).max() < 0.1
    shifted = content_offset(grays, dots + [1.0, 0.5])
    assert np.allclose(shifted, [[-1.0, -0.5]] * 2, atol=0.15)
    # and the tool prints one row per source folder
    from tools.inspect_landmarks import main
    lst, _ = _fixture(tmp_path)
    assert main(['--list', lst, '--out', str(tmp_path / 'check'), '--content_offset', '10']) == 0
    assert 'dark centroid of the mean patch' in capsys.readouterr().out


def test_real_cuhk_list_shifted_block_is_found():
    path = shared_path('data', 'landmarks5', 'new_training.txt')
    items = read_landmark_list(path, 'cuhk')
    flags, _ = check_points(np.stack([p for _, _, p in items]), np.full((len(items), 2), 80.0))
    bad = outlier_mask(flags)
    shifted = np.array(['net_7876/_' in p for p, _, _ in items])
    assert shifted.sum() == 2350
    assert bad[shifted].mean() > 0.99 and bad[~shifted].sum() == 0
    # moved down by the block's offset (the recipe's --shift), the block passes the checks
    pts = np.stack([p for _, _, p in items]) + np.where(shifted[:, None, None], [0, 27.7], 0)
    flags, _ = check_points(pts, np.full((len(items), 2), 80.0))
    assert outlier_mask(flags).sum() <= 5


def test_shift_repairs_a_block_of_offset_lines(tmp_path, capsys):
    from core.landmarks.points import shift_numbers
    from tools.inspect_landmarks import main
    assert shift_numbers('1 2 3 4 5 6 7 8 9 10 extra'.split(), 'cuhk', 0.5, -1) == \
        ['1.5', '2.5', '3.5', '4.5', '5.5', '5', '6', '7', '8', '9', 'extra']
    assert shift_numbers(['1', '2'] * 106, 'l106', 1, 1)[:4] == ['2', '3', '2', '3']
    rng = np.random.RandomState(0)
    lines = []
    for k in range(30):
        folder, dy = ('good', 0) if k < 22 else ('bad', -27)  # a block labelled 27 px too high
        (tmp_path / folder).mkdir(exist_ok=True)
        cv2.imwrite(str(tmp_path / folder / ('%d.jpg' % k)), rng.randint(0, 255, (80, 80, 3)).astype(np.uint8))
        s = TEMPLATE + rng.normal(0, 1.0, (5, 2)) + [0, dy]
        lines.append(' '.join(['%s/%d.jpg' % (folder, k)] + ['%.2f' % v for v in np.r_[s[:, 0], s[:, 1]]]))
    lst = tmp_path / 'list.txt'
    lst.write_text('\n'.join(lines) + '\n')
    clean = tmp_path / 'clean.txt'
    assert main(['--list', str(lst), '--out', str(tmp_path / 'c0'), '--drop_outliers', str(clean)]) == 0
    assert len(clean.read_text().splitlines()) == 22  # unrepaired: the block is dropped
    assert main(['--list', str(lst), '--out', str(tmp_path / 'c1'), '--drop_outliers', str(clean),
                 '--shift', 'bad/:0,27']) == 0
    assert '--shift bad/: 8 lines moved by (0, 27) pixels' in capsys.readouterr().out
    kept = read_landmark_list(str(clean), 'cuhk')
    assert len(kept) == 30
    want = np.stack([p for _, _, p in read_landmark_list(str(lst), 'cuhk')]) + np.array([[[0, 0]]] * 22 + [[[0, 27]]] * 8)
    np.testing.assert_allclose(np.stack([p for _, _, p in kept]), want, atol=1e-6)
    for bad in (['--shift', 'bad/'], ['--shift', ':0,1'], ['--shift', 'bad/:0,1', '--format', 'celeba']):
        try:
            code = main(['--list', str(lst), '--out', str(tmp_path / 'c2')] + bad)
        except SystemExit as exc:
            code = exc.code
        except ValueError as exc:
            assert '--shift takes' in str(exc)
            code = 2
        assert code == 2
