"""Command-line tools run end to end on a shipped model and report what they did."""
import os
import subprocess
import sys

from conftest import REPO, shared_path


def _run(args, **kw):
    return subprocess.run([sys.executable] + args, cwd=REPO, capture_output=True, text=True, **kw)


def test_load_merge_onnx_zqcnn_clis(tmp_path):
    base = os.path.join(shared_path('models', 'train-mtcnn'), 'rnet_v1')
    r = _run(['tools/load_model.py', '--prefix', base, '--epoch', '16'])
    assert r.returncode == 0 and 'network=Rnet_v1' in r.stdout
    r = _run(['tools/merge_bn.py', '--prefix', base, '--epoch', '16', '--out', str(tmp_path / 'm')])
    assert r.returncode == 0 and '2 BatchNorm folded' in r.stdout
    r = _run(['tools/export_onnx.py', '--prefix', str(tmp_path / 'm'), '--epoch', '16', '--out', str(tmp_path / 'r.onnx')])
    assert r.returncode == 0 and os.path.getsize(str(tmp_path / 'r.onnx')) > 1000, r.stderr[-500:]
    r = _run(['tools/export_zqcnn.py', '--prefix', base, '--epoch', '16', '--out', str(tmp_path / 'det2')])
    assert r.returncode == 0 and 'merge-BN+1e-9' in r.stdout, r.stderr[-500:]
    assert os.path.exists(str(tmp_path / 'det2.zqparams')) and os.path.exists(str(tmp_path / 'det2.nchwbin'))
    r = _run(['tools/load_model.py', '--prefix', str(tmp_path / 'none'), '--epoch', '1'])
    assert r.returncode == 2 and 'not found' in r.stderr


def test_inspect_samples_cli(tmp_path):
    from core.common.packed import RecordWriter, encode_raw, pack
    import numpy as np
    w = RecordWriter(str(tmp_path / 'pos'))
    for i in range(3):
        w.write(pack([1, 0.1, 0.1, -0.1, -0.1], encode_raw(np.full((20, 20, 3), 50 * i, np.uint8))))
    w.close()
    r = _run(['tools/inspect_samples.py', str(tmp_path), '--out', str(tmp_path / 'g.png')])
    assert r.returncode == 0 and 'pos' in r.stdout and os.path.exists(str(tmp_path / 'g.png'))
    r = _run(['tools/inspect_samples.py', str(tmp_path / 'empty')])
    assert r.returncode == 2


def test_publish_models_and_the_default_cascade(tmp_path, monkeypatch):
    import json
    import symbols
    from conftest import random_model
    from core.detect import cascade
    from core.runtime.model_io import save_checkpoint
    from prepare_data.demo_set import make_demo_set
    run = tmp_path / 'run'
    prefixes = []
    for name, net, epoch in (('pnet20_hard', 'Pnet20_v1', 2), ('rnet', 'Rnet_v1', 4), ('onet', 'Onet_v1', 5)):
        m = random_model(net)
        save_checkpoint(str(run / 'model' / name), epoch, symbols.get_symbol(net), m.arg, m.aux, network=net)
        prefixes.append(str(run / 'model' / name))
    (run / 'manifest.json').write_text(json.dumps({'config': {}, 'stages': {}, 'cascade': dict(
        prefix=prefixes, epoch=[2, 4, 5], networks=['Pnet20_v1', 'Rnet_v1', 'Onet_v1'],
        settings=dict(thresh=[0.4, 0.5, 0.6], min_face=20))}))
    out = tmp_path / 'default'
    r = _run(['tools/publish_models.py', '--run', str(run), '--out', str(out), '--gt_dir', str(tmp_path / 'none')])
    assert r.returncode == 0, r.stderr
    card = json.load(open(out / 'models.json'))
    assert card['epoch'] == [2, 4, 5] and card['networks'] == ['Pnet20_v1', 'Rnet_v1', 'Onet_v1']
    assert sorted(os.listdir(out)) == ['README.md', 'models.json', 'onet-0005.params', 'onet-symbol.json',
                                       'pnet20-0002.params', 'pnet20-symbol.json', 'rnet-0004.params', 'rnet-symbol.json']
    readme = open(out / 'README.md').read()  # the model card's blocks, written from models.json
    assert '| Onet | `Onet_v1` | `onet-0005.params` |' in readme and '| `default` | 0.4 / 0.5 / 0.6 |' in readme
    monkeypatch.setattr(cascade, 'DEFAULT_CARD', str(out / 'models.json'))
    card = cascade.default_card()
    assert card.prefix[1] == str(out / 'rnet') and card.epoch == (2, 4, 5) and card.settings().thresh == (0.4, 0.5, 0.6)
    assert cascade.default_card(prefer_committed=False).prefix[2].endswith('onet_v1')
    det = cascade.default_cascade()
    assert det.thresh == [0.4, 0.5, 0.6] and det.onet.network == 'Onet_v1'
    # a cascade that is worse on val than the published one is refused (the published one stays)
    demo = str(tmp_path / 'demo')
    make_demo_set(demo, n_train=2, n_val=3, seed=0)
    card = json.load(open(out / 'models.json'))
    card['val_ap'] = dict(easy=0.9, medium=0.9, hard=0.9)
    (out / 'models.json').write_text(json.dumps(card))
    args = ['tools/publish_models.py', '--run', str(run), '--out', str(out), '--gt_dir',
            os.path.join(demo, 'eval_tools', 'ground_truth'), '--image_root', os.path.join(demo, 'WIDER_val', 'images')]
    r = _run(args)
    assert r.returncode == 2 and 'worse on WIDER val' in r.stderr, r.stderr
    assert json.load(open(out / 'models.json'))['val_ap']['easy'] == 0.9
    r = _run(args + ['--force'])
    assert r.returncode == 0 and 'WIDER val: easy=' in r.stdout, r.stderr
    # the card says at which settings val was measured (the default point, until operating points are chosen)
    assert json.load(open(out / 'models.json'))['val_point']['thresh'] == [0.4, 0.5, 0.6]
    assert 'at thresholds 0.4 / 0.5 / 0.6, Onet one plain pass, evaluated once' in open(out / 'README.md').read()
    assert sorted(os.listdir(tmp_path)) == ['default', 'demo', 'run']  # no staging or backup folder left
    # a landmark net attached to the published cascade, mirrored crops averaged in unless --lnet_flip off
    m = random_model('Lnet_v2')
    save_checkpoint(str(tmp_path / 'l' / 'lnet'), 3, symbols.get_symbol('Lnet_v2'), m.arg, m.aux, network='Lnet_v2')
    for flag, want in ((), True), (('--lnet_flip', 'off'), False):
        r = _run(['tools/publish_models.py', '--out', str(out), '--lnet', str(tmp_path / 'l' / 'lnet') + ',3'] + list(flag))
        assert r.returncode == 0 and 'attached Lnet_v2 (epoch 3)' in r.stdout, r.stderr
        card = json.load(open(out / 'models.json'))
        assert card['lnet']['flip'] is want and card['epoch'] == [2, 4, 5]
        assert cascade.default_card().lnet == (str(out / 'lnet'), 3)
        assert cascade.default_card().settings().lnet_flip is want


def test_the_card_shows_val_ap_at_three_decimals_half_up():
    """models.json keeps 4 decimals; the card rounds them as the docs' tables do (0.7805 is 0.781, not 0.780)."""
    from tools.publish_models import _ap3
    assert [_ap3(v) for v in (0.7805, 0.799, 0.5067, 0.8124)] == ['0.781', '0.799', '0.507', '0.812']
