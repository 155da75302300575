"""tools/bench_scale.py: the k× set lists every image k times through links, a stage's processes are
measured, and a short run writes its table, JSON and plot and resumes without rerunning stages."""
import json
import os
import subprocess
import sys

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, 'tools'))
import bench_scale  # noqa: E402


def _demo(tmp_path):
    from prepare_data.demo_set import make_demo_set
    root = str(tmp_path / 'WIDER')
    make_demo_set(root, n_train=12, n_val=2, seed=0)
    return root


def test_scaled_set_lists_each_image_k_times_without_copies(tmp_path):
    root = _demo(tmp_path)
    wider, n = bench_scale.scaled_wider(root, str(tmp_path / 'x3'), 3)
    assert n == 36
    gt = open(os.path.join(wider, 'wider_face_split', 'wider_face_train_bbx_gt.txt')).read().split('\n')
    names = [ln for ln in gt if ln.endswith('.jpg')]
    assert len(names) == 36 and len(set(names)) == 36 and names[0].startswith('c0_') and names[-1].startswith('c2_')
    img = os.path.join(wider, 'WIDER_train', 'images', names[-1])
    assert os.path.isfile(img) and os.path.islink(os.path.dirname(img))  # folders linked, no JPEG copied
    assert bench_scale.disk_usage(os.path.join(wider, 'WIDER_train'))[1] == 0


def test_tree_memory_counts_the_workers():
    code = ('import multiprocessing as mp, time\n'
            'def f(_):\n    b = bytearray(60 * 2 ** 20); time.sleep(1.5); return len(b)\n'
            'if __name__ == "__main__":\n    mp.Pool(2).map(f, [0, 1])\n')
    m = bench_scale.run_measured([sys.executable, '-c', code], os.devnull)
    assert m['returncode'] == 0
    if os.path.isdir('/proc/self'):
        assert m['peak_rss_mb'] >= 120 > m['largest_rss_mb']  # two workers of 60 MB each, summed


def test_short_run_writes_table_json_plot_and_resumes(tmp_path):
    root = _demo(tmp_path)
    out = str(tmp_path / 'scale')
    cmd = [sys.executable, 'tools/bench_scale.py', '--wider_root', root, '--scales', '1,2', '--landmarks', '',
           '--stages', 'anno,p_data,p_list', '--out', out, '--workers', '1']
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1].startswith('max_rss_growth=')
    res = json.load(open(os.path.join(out, 'scale.json')))
    one, two = res['1'], res['2']
    assert set(one) == {'anno', 'p_data', 'p_list'} and one['p_data']['images'] == 12 and two['p_data']['images'] == 24
    assert two['p_data']['disk_mb'] > one['p_data']['disk_mb'] > 0
    assert os.path.getsize(os.path.join(out, 'scale.png')) > 10000
    assert '| p_data |' in open(os.path.join(out, 'scale.md')).read()
    assert not os.path.exists(os.path.join(out, 'x1'))  # each scale's data is removed once measured
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and '...' not in r.stdout  # everything measured already: nothing reruns


def test_bad_stage_names_are_one_line_errors(tmp_path):
    r = subprocess.run([sys.executable, 'tools/bench_scale.py', '--wider_root', _demo(tmp_path), '--stages', 'p_dta',
                        '--out', str(tmp_path / 'o')], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 2 and 'p_dta' in r.stderr and 'Traceback' not in r.stderr


def test_a_stage_stopped_after_its_time_counts_as_measured():
    m = bench_scale.run_measured([sys.executable, '-c', 'import time; time.sleep(60)'], os.devnull, max_seconds=2)
    assert m['stopped'] and m['returncode'] == 0 and 2 <= m['seconds'] < 30
    res = {'1': {'p_train': dict(m, disk_mb=0, files=0)}}
    rows, _ = bench_scale.table(res, [1], ['p_train'])
    assert '(stopped at 2)' in rows[-1]
