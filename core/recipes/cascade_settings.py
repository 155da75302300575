"""Detector settings, one home: what a cascade run is set to (thresholds, minimum face, pyramid factor,
test-time options), each with its single default, and the model card (``models.json``) that records the
operating points of a published cascade.

:class:`CascadeSettings`' defaults are the original's ``demo20.py`` values (thresholds 0.5 / 0.5 / 0.7,
minimum face 20, factor 0.709, no test-time options); a published cascade's own settings live in its card's
``points`` and nowhere else. :func:`read_card` checks a card field by field, naming ``models.json: key``.
"""
import dataclasses
import os
import typing

from core.common.errors import SettingError
from core.common.fileio import load_json

from .fields import build, coerce, field, to_dict

STAGES = ('pnet', 'rnet', 'onet')
POINTS = ('default', 'accurate')


@dataclasses.dataclass(frozen=True)
class CascadeSettings:
    """The settings of one cascade run."""
    thresh: typing.Tuple[float, ...] = field((0.5, 0.5, 0.7), 'face-probability threshold of each stage (P, R, O)',
                                             low=0, high=1, length=(1, 3))
    min_face: float = field(20.0, 'smallest face in pixels', above=0)
    factor: float = field(0.709, 'pyramid scale factor', above=0, below=1)
    onet_flip: bool = field(False, "average the Onet's face probability over each crop and its mirror")
    onet_passes: int = field(1, 'Onet passes: a later pass re-scores the boxes of the one before', low=1)
    lnet_flip: bool = field(False, "average the 5-point Lnet's points over each face crop and its mirror")

    @property
    def single_onet_pass(self):
        """Whether the Onet runs one plain pass, the only flow an exported cascade or ZQCNN's C++ runs."""
        return not self.onet_flip and self.onet_passes == 1

    def reset(self, *names):
        """A copy with the settings ``names`` back at their defaults (e.g. no Onet test-time options)."""
        return dataclasses.replace(self, **{n: getattr(CascadeSettings, n) for n in names})

    def replace(self, where='settings', **values):
        """A copy with ``values`` (typed or text) checked and applied; ``None`` values are left out."""
        by_name = {f.name: f for f in dataclasses.fields(self)}
        typed = {k: coerce(by_name[k], v, where) for k, v in values.items() if v is not None}
        return dataclasses.replace(self, **typed)


DEFAULTS = CascadeSettings()


def stage_thresholds(thresh, n_stages, where='thresh'):
    """One threshold per stage of an ``n_stages`` cascade: ``None`` gives the defaults of those stages; a
    given list must have exactly that many values, each in [0, 1]."""
    if thresh is None:
        return tuple(DEFAULTS.thresh[:n_stages])
    f = next(f for f in dataclasses.fields(CascadeSettings) if f.name == 'thresh')
    values = coerce(f, thresh, where)
    if len(values) != n_stages:
        raise SettingError('%s: %d threshold%s for a cascade of %d net%s (one per stage, e.g. %s)'
                           % (where, len(values), '' if len(values) == 1 else 's', n_stages,
                              '' if n_stages == 1 else 's', ','.join(map(str, DEFAULTS.thresh[:n_stages]))))
    return tuple(float(t) for t in values)


# --- the model card --------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class PointRecord:
    """An operating point in a card: its settings and what they measured on the dev split."""
    thresh: typing.Tuple[float, ...] = field((), 'thresholds P, R, O', low=0, high=1, length=3)
    onet_flip: bool = field(False, 'the Onet mirrored')
    onet_passes: int = field(1, 'Onet passes', low=1)
    dev_ap: typing.Optional[float] = field(None, 'dev AP', low=0, high=1)
    precision: typing.Optional[float] = field(None, 'dev precision', low=0, high=1)
    recall: typing.Optional[float] = field(None, 'dev recall', low=0, high=1)
    s_per_img: typing.Optional[float] = field(None, 'seconds per dev image', low=0)
    exact: bool = field(False, 'measured at exactly these thresholds (not filtered from a lower Onet threshold)')


@dataclasses.dataclass(frozen=True)
class LnetRecord:
    prefix: str = field('', 'checkpoint prefix, relative to the card')
    epoch: int = field(0, 'checkpoint epoch', low=0)
    network: str = field('', 'registered variant')
    flip: bool = field(False, 'its points averaged with the mirrored crop\'s')
    note: str = field('', 'how it was trained')


@dataclasses.dataclass(frozen=True)
class Sweep:
    """How ``tools/operating_points.py`` chose the points."""
    split: str = field('', 'the dev annotation file')
    images: int = field(0, 'dev images', low=0)
    min_precision: float = field(0.95, 'the default point\'s precision floor', low=0, high=1)
    threads: int = field(1, 'ONNX Runtime threads of the timing', low=1)
    shipped_s_per_img: typing.Optional[float] = field(None, 'the shipped models\' time on the same images', low=0)
    max_time_ratio: float = field(1.5, 'the default point\'s time limit against the shipped models', low=0)


@dataclasses.dataclass(frozen=True)
class CardFields:
    prefix: typing.Tuple[str, ...] = field((), 'checkpoint prefixes P, R, O, relative to the card', length=3)
    epoch: typing.Tuple[int, ...] = field((), 'their epochs', low=0, length=3)
    networks: typing.Tuple[str, ...] = field((), 'their registered variants', length=3)
    min_face: float = field(DEFAULTS.min_face, 'smallest face in pixels', above=0)
    note: str = field('', 'where the models come from')
    recipe: str = field('', 'the pipeline recipe that trained them, relative to the repository')
    val_ap: typing.Optional[dict] = None
    val_point: typing.Optional[PointRecord] = None  # the settings val_ap was measured at (older cards: accurate)
    lnet: typing.Optional[LnetRecord] = None
    points: typing.Optional[dict] = None
    sweep: typing.Optional[Sweep] = None


def _val_ap(value, where):
    if not isinstance(value, dict) or set(value) != {'easy', 'medium', 'hard'}:
        raise SettingError('%s: an object with easy, medium and hard' % where)
    f = dataclasses.fields(PointRecord)[3]  # dev_ap: a number in [0, 1]
    return {k: coerce(f, v, where + '.' + k) for k, v in value.items()}


def _points(value, where):
    if value is None:
        raise SettingError('%s: missing (the operating points, written by tools/operating_points.py --write)' % where)
    if not isinstance(value, dict) or not set(value) <= set(POINTS) or 'default' not in value:
        raise SettingError('%s: an object with the points %s (default required)' % (where, ', '.join(POINTS)))
    return {k: build(PointRecord, v, '%s.%s' % (where, k)) for k, v in value.items()}


@dataclasses.dataclass(frozen=True)
class ModelCard:
    """A published cascade: absolute checkpoint prefixes, epochs, networks, and per operating point the
    :class:`CascadeSettings` it runs with."""
    path: str
    prefix: tuple
    epoch: tuple
    networks: tuple
    points: dict
    lnet: typing.Optional[tuple] = None
    fields: CardFields = None

    def settings(self, point='default'):
        """The :class:`CascadeSettings` of an operating point."""
        if point not in POINTS:
            raise SettingError('unknown operating point %r (%s)' % (point, ', '.join(POINTS)))
        return self.points.get(point) or self.points['default']


def read_card(path):
    """The :class:`ModelCard` of a ``models.json``; every field checked, errors naming ``file: key``."""
    return card_from_json(load_json(path, 'model card'), path)


def card_from_json(data, path):
    """The :class:`ModelCard` of a card's JSON object (``path``: where it is, or will be, written)."""
    nested = {'val_ap': _val_ap, 'points': _points,
              'val_point': lambda v, w: None if v is None else build(PointRecord, v, w),
              'lnet': lambda v, w: None if v is None else build(LnetRecord, v, w),
              'sweep': lambda v, w: build(Sweep, v, w)}
    c = build(CardFields, data, path, nested=nested)
    if c.points is None:
        raise SettingError('%s: points: missing (the operating points, written by tools/operating_points.py '
                           '--write)' % path)
    base = os.path.dirname(os.path.abspath(path))
    lnet_flip = bool(c.lnet and c.lnet.flip)
    points = {name: CascadeSettings(thresh=p.thresh, min_face=c.min_face, onet_flip=p.onet_flip,
                                    onet_passes=p.onet_passes, lnet_flip=lnet_flip) for name, p in c.points.items()}
    lnet = (os.path.join(base, c.lnet.prefix), c.lnet.epoch) if c.lnet else None
    return ModelCard(path, tuple(os.path.join(base, p) for p in c.prefix), c.epoch, c.networks, points, lnet, c)


def card_json(fields_):
    """A card's fields as the JSON object ``models.json`` holds (empty optional parts left out)."""
    out = to_dict(fields_)
    return {k: v for k, v in out.items() if v not in (None, '')}
