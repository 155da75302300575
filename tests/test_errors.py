"""Bad input ends in one line ``error: <file>: <what is wrong>`` and a non-zero exit, never a traceback:
malformed checkpoints, configs, annotations and lists, and a disk that fills up while writing."""
import json
import os
import resource
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, random_model, shared_path


def _run(args, preexec=None, **kw):
    return subprocess.run([sys.executable] + args, cwd=REPO, capture_output=True, text=True, preexec_fn=preexec, **kw)


def _one_line_error(r, *fragments):
    assert r.returncode not in (0, None), r.stdout[-500:]
    assert 'Traceback' not in r.stderr, r.stderr[-3000:]
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith('error: '), r.stderr[-1000:]
    for f in fragments:
        assert f in last, (f, last)


@pytest.fixture()
def checkpoint(tmp_path):
    import symbols
    from core.runtime.model_io import save_checkpoint
    m = random_model('Rnet_v1')
    prefix = str(tmp_path / 'rnet')
    save_checkpoint(prefix, 1, symbols.get_symbol('Rnet_v1'), m.arg, m.aux, network='Rnet_v1')
    return prefix


def test_malformed_checkpoints(checkpoint, tmp_path):
    load = ['tools/load_model.py', '--prefix', checkpoint, '--epoch', '1']
    assert _run(load).returncode == 0
    graph = json.load(open(checkpoint + '-symbol.json'))
    for text, fragment in (('{}', 'rnet-symbol.json'), ('[1, 2]', 'rnet-symbol.json'), ('{"nodes": 5', 'rnet-symbol.json')):
        with open(checkpoint + '-symbol.json', 'w') as f:
            f.write(text)
        _one_line_error(_run(load), fragment)
    data = next(n for n in graph['nodes'] if n['name'] == 'data')
    for network, fragment in (('Nonet_v9', "unknown network 'Nonet_v9'"), ('Onet_v1', 'the checkpoint is not a Onet_v1')):
        data['attrs']['mtcnn_network'] = network  # a network attribute that lies
        json.dump(graph, open(checkpoint + '-symbol.json', 'w'))
        _one_line_error(_run(load), 'rnet-0001.params', fragment)
    data['attrs'].update(mtcnn_network='Rnet_v1', mtcnn_custom_graph='True')
    graph['nodes'].append({'op': 'Custom', 'name': 'loss', 'attrs': {'op_type': 'not_registered'},
                           'inputs': [[len(graph['nodes']) - 1, 0, 0]]})
    graph['heads'] = [[len(graph['nodes']) - 1, 0, 0]]
    json.dump(graph, open(checkpoint + '-symbol.json', 'w'))
    _one_line_error(_run(load), 'rnet-symbol.json')
    params = checkpoint + '-0001.params'
    data = open(params, 'rb').read()
    open(params, 'wb').write(data[:len(data) // 2])  # a truncated download
    _one_line_error(_run(load), 'rnet-0001.params')
    _one_line_error(_run(['tools/load_model.py', '--prefix', str(tmp_path / 'none'), '--epoch', '3']), 'none-0003.params')


def test_malformed_annotations_and_lists(tmp_path):
    from scipy.io import savemat
    root = tmp_path / 'W'
    (root / 'wider_face_split').mkdir(parents=True)
    savemat(str(root / 'wider_face_split' / 'wider_face_train.mat'), {'something': np.zeros(3)})
    anno = ['prepare_data/gen_anno_and_train_list.py', '--wider_root', str(root), '--anno', str(tmp_path / 'a.txt')]
    _one_line_error(_run(anno), 'wider_face_train.mat: not a WIDER FACE annotation file')
    (root / 'wider_face_split' / 'wider_face_train.mat').write_text('not a mat file at all')
    _one_line_error(_run(anno), 'wider_face_train.mat')
    (root / 'wider_face_split' / 'wider_face_train_bbx_gt.txt').write_text('1--x/a.jpg\n1\n10 20 x 40 0 0 0 0 0 0\n')
    _one_line_error(_run(anno + ['--source', 'txt']), 'wider_face_train_bbx_gt.txt:3: non-numeric annotation value')
    lst = tmp_path / 'list.txt'
    lst.write_text('crop 1 0.1 0.2\n')
    _one_line_error(_run(['train_P20.py', '--image_set', str(lst), '--prefix', str(tmp_path / 'p')]),
                    'list.txt:1: a sample with label 1 needs 4 values')
    (tmp_path / 'a.txt').write_text('img.jpg 1 2 3\n')
    _one_line_error(_run(['prepare_data/gen_data.py', '--size', '20', '--anno', str(tmp_path / 'a.txt'),
                          '--out', str(tmp_path / 's')]), 'a.txt:1: box coordinates must come in groups of 4')


def _small_disk(limit):
    """preexec_fn: files may grow to ``limit`` bytes, then writes fail with EFBIG (a disk that is full)."""
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.skipif(not hasattr(resource, 'RLIMIT_FSIZE'), reason='needs RLIMIT_FSIZE')
def test_a_full_disk_is_an_error_and_leaves_no_half_written_output(tmp_path):
    img = shared_path('images', '4.jpg')
    out = tmp_path / 'dets.txt'
    r = _run(['demo.py', '--imgfile', img, '--out', str(tmp_path / 'vis.jpg'), '--save_dets', str(out)],
             preexec=_small_disk(2000))  # the detections fit, the annotated JPEG does not
    _one_line_error(r, 'vis.jpg')
    assert not (tmp_path / 'vis.jpg').exists()  # not a truncated image that looks complete
    assert [p for p in os.listdir(tmp_path) if p.endswith('.tmp')] == []  # no temporary file left
    # sample generation: the error, and the folder is marked incomplete (no manifest), so lists refuse it
    root = shared_path('data', 'widerface')
    anno = str(tmp_path / 'anno.txt')
    assert _run(['prepare_data/gen_anno_and_train_list.py', '--wider_root', root, '--anno', anno]).returncode == 0
    samples = str(tmp_path / 's')
    r = _run(['prepare_data/gen_data.py', '--size', '20', '--anno', anno, '--out', samples, '--limit', '30',
              '--workers', '1'], preexec=_small_disk(200000))
    _one_line_error(r)
    assert not os.path.exists(os.path.join(samples, '20', 'manifest.json'))
    r = _run(['prepare_data/gen_imglist.py', '--size', '20', '--samples', samples, '--out', str(tmp_path / 'l.txt')])
    _one_line_error(r, 'incomplete')
    shutil.rmtree(samples)


def test_atomic_outputs_get_the_mode_a_plain_open_gives(tmp_path):
    """Files written through a temporary beside them end with the permissions open() would give
    (mkstemp's 0600 would leave a list or a model unreadable to the user's group)."""
    from core.common.fileio import atomic_call, write_lines
    write_lines(str(tmp_path / 'a.txt'), ['x'])
    atomic_call(str(tmp_path / 'b.bin'), lambda p: open(p, 'wb').write(b'1'))
    with open(tmp_path / 'c.txt', 'w') as f:
        f.write('x')
    plain = os.stat(tmp_path / 'c.txt').st_mode & 0o777
    assert os.stat(tmp_path / 'a.txt').st_mode & 0o777 == plain
    assert os.stat(tmp_path / 'b.bin').st_mode & 0o777 == plain
