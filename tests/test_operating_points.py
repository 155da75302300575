"""Operating points: the choice rule, and the model card's points reaching every tool."""
import json

import pytest

from tools.operating_points import choose


def _row(t, ap, p, r, s):
    return dict(thresh=t, dev_ap=ap, precision=p, recall=r, s_per_img=s)


def test_accurate_is_the_best_ap_and_default_the_best_recall_at_the_precision():
    rows = [_row([0.2, 0.3, 0.5], 0.78, 0.60, 0.80, 0.5), _row([0.2, 0.3, 0.97], 0.70, 0.95, 0.60, 0.5),
            _row([0.6, 0.7, 0.97], 0.69, 0.96, 0.60, 0.1), _row([0.6, 0.7, 0.99], 0.60, 0.99, 0.40, 0.1)]
    accurate, default = choose(rows, 0.95)
    assert accurate['thresh'] == [0.2, 0.3, 0.5]
    assert default['thresh'] == [0.6, 0.7, 0.97]  # same recall as the slower one: the faster wins
    with pytest.raises(ValueError, match='no setting reaches a dev precision of 0.999'):
        choose(rows, 0.999)
    # a time limit: the best recall among the fast enough settings, and a clear error when none is
    rows.append(_row([0.2, 0.2, 0.98], 0.70, 0.96, 0.70, 0.4))
    assert choose(rows, 0.95)[1]['thresh'] == [0.2, 0.2, 0.98]
    assert choose(rows, 0.95, max_seconds=0.15)[1]['thresh'] == [0.6, 0.7, 0.97]
    with pytest.raises(ValueError, match='within 0.050 s/img'):
        choose(rows, 0.95, max_seconds=0.05)


def _card(tmp_path, monkeypatch, **extra):
    from core.detect import cascade
    card = dict(prefix=['p', 'r', 'o'], epoch=[1, 2, 3], networks=['Pnet20_v1', 'Rnet_v1', 'Onet_v1'], min_face=20,
                points=dict(accurate=dict(thresh=[0.2, 0.3, 0.5]), default=dict(thresh=[0.6, 0.7, 0.97])))
    card.update(extra)
    path = tmp_path / 'models.json'
    path.write_text(json.dumps(card))
    monkeypatch.setattr(cascade, 'DEFAULT_CARD', str(path))
    return card, path


def test_card_points_choose_the_thresholds(tmp_path, monkeypatch):
    import cli
    from core.detect import cascade
    _card(tmp_path, monkeypatch)
    assert cascade.default_card().settings().thresh == (0.6, 0.7, 0.97)
    assert cascade.default_card().settings('accurate').thresh == (0.2, 0.3, 0.5)
    for point, want in ((None, (0.2, 0.3, 0.5)), ('default', (0.6, 0.7, 0.97))):
        ap = cli.parser('x')
        cli.add_detector_args(ap, point='accurate')  # as tools/eval_wider.py
        args = ap.parse_args(['--point', point] if point else [])
        assert cli.resolve_detector_args(args)['settings'].thresh == want
    with pytest.raises(ValueError, match='unknown operating point'):
        cascade.default_card(point='fast')


def test_a_card_is_checked_field_by_field(tmp_path, monkeypatch):
    """A card's mistakes are named with the file and the key; the top-level copy of the thresholds and the
    recipe snapshot of older cards are gone (the points are their one home)."""
    from core.detect import cascade
    for extra, message in ((dict(thresh=[0.6, 0.7, 0.97]), "unknown setting 'thresh'"),
                           (dict(points=dict(default=dict(thresh=[7, 8, 9]))), 'points.default: thresh=7.0,8.0,9.0 must '
                                                                                'be at most 1'),
                           (dict(points=dict(default=dict(thresh=[0.5, 0.5]))), 'thresh has 2 values, it takes 3'),
                           (dict(points=dict(fast=dict(thresh=[0.5, 0.5, 0.5]))), 'points: an object with the points'),
                           (dict(epoch=[1, 2]), 'epoch has 2 values, it takes 3'),
                           (dict(min_face=0), 'min_face=0.0 must be above 0'),
                           (dict(points=None), 'points: missing')):
        _, path = _card(tmp_path, monkeypatch, **extra)
        with pytest.raises(ValueError, match=message) as err:
            cascade.default_card()
        assert 'models.json' in str(err.value)
    from core.recipes.cascade_settings import read_card
    import os
    from conftest import REPO
    read_card(os.path.join(REPO, 'model', 'default', 'models.json'))  # the committed card is valid


def test_the_default_point_never_uses_onet_test_time_options():
    rows = [_row([0.2, 0.3, 0.5], 0.78, 0.60, 0.80, 0.5), _row([0.6, 0.7, 0.97], 0.69, 0.96, 0.60, 0.1),
            dict(_row([0.2, 0.3, 0.3], 0.80, 0.55, 0.82, 0.7), onet_flip=True, onet_passes=2),
            dict(_row([0.6, 0.7, 0.97], 0.70, 0.97, 0.62, 0.15), onet_flip=True, onet_passes=2)]
    accurate, default = choose(rows, 0.95)
    assert accurate['thresh'] == [0.2, 0.3, 0.3] and accurate['onet_passes'] == 2
    assert default['thresh'] == [0.6, 0.7, 0.97] and 'onet_flip' not in default


def test_tta_spec():
    from tools.operating_points import parse_tta
    assert parse_tta('none') == {} and parse_tta('') == {}
    assert parse_tta('flip') == dict(onet_flip=True, onet_passes=1)
    assert parse_tta('flip,2') == dict(onet_flip=True, onet_passes=2)
    assert parse_tta('3') == dict(onet_flip=False, onet_passes=3)
    for bad in ('flip,0', 'mirror', '2,3'):
        with pytest.raises(ValueError, match='--tta takes'):
            parse_tta(bad)


def test_card_points_carry_the_onet_options_to_the_tools(tmp_path, monkeypatch):
    import cli
    from core.detect import cascade
    _card(tmp_path, monkeypatch, points=dict(accurate=dict(thresh=[0.2, 0.3, 0.3], onet_flip=True, onet_passes=2),
                                             default=dict(thresh=[0.6, 0.7, 0.97])))
    acc = cascade.default_card().settings('accurate')
    assert (acc.onet_flip, acc.onet_passes) == (True, 2) and cascade.default_card().settings().single_onet_pass
    ap = cli.parser('x')
    cli.add_detector_args(ap, point='accurate')

    def resolved(*flags):
        s = cli.resolve_detector_args(ap.parse_args(list(flags)))['settings']
        return s.onet_flip, s.onet_passes
    assert resolved() == (True, 2)
    assert resolved('--onet_flip', 'off') == (False, 2)
    assert resolved('--onet_passes', '1') == (True, 1)
    assert resolved('--point', 'default') == (False, 1)
    assert resolved('--scheme', 'zqcnn') == (False, 1)  # ZQCNN's own flow: what its C++ finds
    assert resolved('--prefix', 'a,b,c', '--epoch', '1,1,1') == (False, 1)  # other models: plain unless asked


def test_detector_flags_are_checked_and_named(tmp_path, monkeypatch):
    """Thresholds: one per stage, each in [0, 1]; every settings flag names itself in its error."""
    import cli
    _card(tmp_path, monkeypatch)
    ap = cli.parser('x')
    cli.add_detector_args(ap)
    resolve = lambda *flags: cli.resolve_detector_args(ap.parse_args(list(flags)))['settings']  # noqa: E731
    assert resolve('--thresh', '0.1,0.2,0.3').thresh == (0.1, 0.2, 0.3)
    assert resolve('--prefix', 'a,b', '--epoch', '1,1').thresh == (0.5, 0.5)  # the defaults of the stages given
    for flags, message in ((('--thresh', '0.5'), '--thresh: 1 threshold for a cascade of 3 nets'),
                           (('--thresh', '0.5,0.5,0.5,0.5'), '--thresh: thresh has 4 values, it takes 1 to 3'),
                           (('--thresh', '2,2,2'), '--thresh: thresh=2.0,2.0,2.0 must be at most 1'),
                           (('--thresh', 'a,b,c'), "thresh='a,b,c' is not a list of numbers"),
                           (('--min_face', '-3'), '--min_face: min_face=-3.0 must be above 0'),
                           (('--factor', '1.5'), '--factor: factor=1.5 must be below 1'),
                           (('--onet_passes', '0'), '--onet_passes: onet_passes=0 must be at least 1'),
                           (('--epoch', 'a,b,c'), "--epoch: 'a' is not a whole number")):
        with pytest.raises(ValueError, match=__import__('re').escape(message)):
            resolve(*flags)


def test_card_lnet_flip_reaches_the_tools_and_the_exported_card(tmp_path, monkeypatch):
    import cli
    from core.detect import cascade
    card, path = _card(tmp_path, monkeypatch, lnet=dict(prefix='lnet', epoch=32, flip=True))
    assert cascade.default_card().settings().lnet_flip is True
    ap = cli.parser('x')
    cli.add_detector_args(ap)

    def resolved(*flags):
        return cli.resolve_detector_args(ap.parse_args(list(flags)))['settings'].lnet_flip
    assert resolved() is True
    assert resolved('--lnet_flip', 'off') is False
    assert resolved('--scheme', 'zqcnn') is False  # ZQCNN's flow runs the landmark net once
    assert resolved('--lnet', 'other,3') is False  # another landmark net: plain unless asked
    assert resolved('--lnet', 'other,3', '--lnet_flip', 'on') is True
    card['lnet'].pop('flip')
    path.write_text(json.dumps(card))
    assert cascade.default_card().settings().lnet_flip is False and resolved() is False


def test_box_evaluations_leave_the_landmark_nets_out():
    import cli
    ap = cli.parser('x')
    cli.add_detector_args(ap, point='accurate')  # as tools/eval_wider.py and tools/detect_fddb.py
    args = ap.parse_args([])
    with_points = cli.detector_from_args(args)
    boxes_only = cli.detector_from_args(args, landmarks=False)
    assert with_points.lnet is not None and with_points.lnet_flip  # the default models' Lnet, mirrored
    assert boxes_only.lnet is None and boxes_only.lnet106 is None
    assert boxes_only.thresh == with_points.thresh and boxes_only.onet_passes == with_points.onet_passes == 2


def test_the_points_are_measured_on_the_card_they_are_written_to(tmp_path, monkeypatch):
    """``--write CARD`` measures that card's cascade (never silently model/default's), ``--card`` names it
    explicitly, and a ``--card`` that is not the written one is refused."""
    import shutil
    from conftest import REPO
    from core.common.errors import SettingError
    from tools import operating_points as op
    other = tmp_path / 'other'
    shutil.copytree(REPO + '/model/default', other)
    anno = tmp_path / 'anno.txt'
    anno.write_text('images/1--Event/1_Event_1.jpg 10 10 60 60\n')
    measured = []

    def fake_measure(card, grid, onet, gt, images, out, threads, label='dev', tta=None):
        measured.append(card.path)
        return [_row([0.2, 0.3, 0.5], 0.8, 0.96, 0.7, 0.1)]

    monkeypatch.setattr(op, 'measure', fake_measure)
    common = ['--gt_anno', str(anno), '--tta', 'none', '--max_time_ratio', '0', '--out', str(tmp_path / 'op')]
    assert op.main(common + ['--write', str(other / 'models.json')]) == 0
    assert measured == [str(other / 'models.json')]
    assert json.loads((other / 'models.json').read_text())['points']['default']['thresh'] == [0.2, 0.3, 0.5]
    with pytest.raises(SettingError, match='its own card'):
        op.main(common + ['--card', REPO + '/model/default', '--write', str(other / 'models.json')])
