"""Typed settings: each field has one default, a line of help, and the values it accepts (its type,
choices, range and length), checked here and nowhere else.

Values arrive as JSON (recipe files, model cards) or as command-line text (flags, ``--set``); both go
through :func:`coerce`, which names the source of a bad value (``file.json: o.train.lr``, ``--thresh``).
Booleans are strict everywhere: ``true/false``, ``1/0``, ``yes/no``, ``on/off`` (any case); anything else
is an error, never a silent ``false``.
"""
import dataclasses
import difflib
import math
import typing

from core.common.errors import SettingError

_TRUE, _FALSE = ('1', 'true', 'yes', 'on'), ('0', 'false', 'no', 'off')


def field(default, doc, kinds=(), choices=None, low=None, high=None, above=None, below=None, length=None):
    """A dataclass field with its help and accepted values: ``low``/``high`` inclusive bounds,
    ``above``/``below`` exclusive ones (applied to every item of a tuple), ``length`` the item count of
    a tuple (an int, or a (min, max) pair), ``kinds`` the nets a training flag applies to."""
    meta = dict(doc=doc, kinds=kinds, choices=choices, low=low, high=high, above=above, below=below, length=length)
    return dataclasses.field(default=default, metadata=meta)


def kind(tp):
    """(base type, is a tuple, optional) of a field annotation."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) is typing.Union:  # Optional[X]
        return kind(next(a for a in args if a is not type(None)))[:2] + (True,)
    if typing.get_origin(tp) is tuple:
        return args[0], True, False
    return tp, False, False


def parse_bool(value, where='value'):
    """A strict boolean: a JSON bool, or one of 1/0, true/false, yes/no, on/off."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise SettingError('%s: %r is not a boolean (true/false, on/off, yes/no, 1/0)' % (where, value))


def _scalar(base, v):
    if base is bool:
        return parse_bool(v)
    if base in (int, float):
        if isinstance(v, bool) or v is None:
            raise ValueError(v)
        x = float(str(v).strip())
        if not math.isfinite(x) or (base is int and x != int(x)):
            raise ValueError(v)
        return int(x) if base is int else x
    if not isinstance(v, (str, int, float)) or isinstance(v, bool):
        raise ValueError(v)
    return str(v)


def _type_name(base, seq):
    name = {int: 'a whole number', float: 'a number', bool: 'a boolean', str: 'text'}[base]
    return 'a list of %ss' % name.split(' ', 1)[1] if seq else name


def coerce(f, value, where):
    """``value`` (JSON or command-line text) as field ``f``'s type, checked against its choices, range
    and length; a :class:`SettingError` naming ``where`` and the field otherwise."""
    base, seq, optional = kind(f.type)
    name = '%s: %s' % (where, f.name) if where else f.name
    if optional and (value is None or (isinstance(value, str) and value.strip().lower() in ('', 'none', 'null'))):
        return None
    try:
        if seq:
            if isinstance(value, (list, tuple)):
                items = list(value)
            elif isinstance(value, str):
                items = [v for v in value.split(',') if v.strip()]
            else:
                items = [value]
            out = tuple(_scalar(base, v) for v in items)
        else:
            out = _scalar(base, value)
    except (TypeError, ValueError, SettingError):
        raise SettingError('%s=%r is not %s' % (name, value, _type_name(base, seq)))
    check(f, out, name)
    return out


def check(f, value, name):
    """Raise a :class:`SettingError` when a typed ``value`` is outside field ``f``'s choices, range or length."""
    m = f.metadata
    if value is None:
        return
    items = value if isinstance(value, tuple) else (value,)
    n = m.get('length')
    if n is not None and isinstance(value, tuple):
        lo, hi = (n, n) if isinstance(n, int) else n
        if not lo <= len(value) <= hi:
            want = str(lo) if lo == hi else '%d to %d' % (lo, hi)
            raise SettingError('%s has %d value%s, it takes %s' % (name, len(value), '' if len(value) == 1 else 's',
                                                                  want))
    if m.get('choices') and any(v not in m['choices'] for v in items):
        raise SettingError('%s=%r is not one of %s' % (name, value, ', '.join(map(str, m['choices']))))
    for v in items:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        bounds = ((m.get('low'), lambda v, b: v >= b, 'at least'), (m.get('high'), lambda v, b: v <= b, 'at most'),
                  (m.get('above'), lambda v, b: v > b, 'above'), (m.get('below'), lambda v, b: v < b, 'below'))
        for bound, ok, words in bounds:
            if bound is not None and not ok(v, bound):
                raise SettingError('%s=%s must be %s %s' % (name, _text(value), words, _text(bound)))


def _text(v):
    if isinstance(v, tuple):
        return ','.join(_text(x) for x in v)
    return repr(v) if isinstance(v, float) else str(v)


def fields(cls, kind_=None):
    """The fields of a settings class (those whose flags apply to nets of ``kind_``)."""
    return [f for f in dataclasses.fields(cls) if kind_ is None or kind_ in f.metadata['kinds']]


def unknown(cls, key, where, names=None):
    """The error for a key ``cls`` does not have, with the closest names as a hint."""
    names = names if names is not None else [f.name for f in dataclasses.fields(cls)]
    close = difflib.get_close_matches(key, names, n=3)
    return SettingError('%s: unknown setting %r%s' % (where, key, ' (did you mean %s?)' % ', '.join(close)
                                                     if close else ' (settings: %s)' % ', '.join(names)))


def build(cls, values, where, nested=None):
    """``cls(**values)`` with every value coerced to its field's type and unknown keys refused; keys
    starting with ``_`` are comments. ``nested``: {field: function(value, where)} for fields that hold
    settings objects of their own."""
    if not isinstance(values, dict):
        raise SettingError('%s: expected a JSON object of settings, got %s' % (where, type(values).__name__))
    by_name = {f.name: f for f in dataclasses.fields(cls)}
    out = {}
    for k, v in values.items():
        if k.startswith('_'):
            continue
        if k not in by_name:
            raise unknown(cls, k, where)
        if nested and k in nested:
            out[k] = nested[k](v, '%s: %s' % (where, k) if where else k)
        else:
            out[k] = coerce(by_name[k], v, where)
    return cls(**out)


def flag_text(value):
    """A field value as its command-line text."""
    if isinstance(value, tuple):
        return ','.join(flag_text(v) for v in value)
    return repr(value) if isinstance(value, float) else str(value)


def to_dict(obj):
    """A settings dataclass as JSON-ready values (tuples as lists, nested settings as objects)."""
    return dataclasses.asdict(obj, dict_factory=lambda kv: {k: list(v) if isinstance(v, tuple) else v for k, v in kv})
