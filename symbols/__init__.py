"""Network zoo: ``get_symbol(name, mode='train'|'test', **kw)`` over one table of variants."""
import os

# oneDNN subgraph fusion breaks repeated forwards of legacy executors in MXNet 1.9.1.
os.environ.setdefault('MXNET_SUBGRAPH_BACKEND', 'NONE')

from .builder import build  # noqa: E402
from .zoo import NETWORKS  # noqa: E402

__all__ = ['get_symbol', 'list_networks', 'network_info', 'canonical_name', 'NetworkError', 'UnknownNetwork',
           'NETWORKS']


class NetworkError(ValueError):
    """A network asked for with settings it does not have (bad input, reported in one line)."""


class UnknownNetwork(KeyError, NetworkError):
    """A network name that is not registered (the message lists close matches)."""

    def __str__(self):
        return self.args[0]


def canonical_name(name):
    """The registered spelling of ``name``, matched case-insensitively and ignoring ``-``/``_`` (so
    the original's file names such as ``pnet20_v1`` work); an :class:`UnknownNetwork` naming the
    closest registered variants otherwise."""
    if name in NETWORKS:
        return name
    key = str(name).lower().replace('-', '_')
    for n in NETWORKS:
        if n.lower() == key:
            return n
    import difflib
    close = difflib.get_close_matches(key, [n.lower() for n in NETWORKS], n=4, cutoff=0.5)
    lower = {n.lower(): n for n in NETWORKS}
    hint = 'did you mean %s?' % ', '.join(lower[c] for c in close) if close else 'see python tools/flops.py'
    raise UnknownNetwork('unknown network %r; %s' % (name, hint))


def list_networks(kind=None):
    """Names of all registered networks, optionally only one kind ('pnet', 'rnet', 'onet', 'lnet')."""
    return [n for n, s in NETWORKS.items() if kind is None or s['kind'] == kind]


def network_info(name):
    """Metadata of a network: kind, input size, points, and for Pnets cell size and stride."""
    name = canonical_name(name)
    spec = NETWORKS[name]
    info = dict(name=name, kind=spec['kind'], size=spec['size'], n_points=spec['n_points'],
                original=spec['original'], basenum=spec.get('basenum'))
    if spec['kind'] == 'pnet':
        stride = 1
        for row in spec['trunk']:
            if not row[0].endswith('_sep'):
                stride *= row[2]
        info.update(cell=spec['size'], stride=stride)
    return info


def get_symbol(name, mode='test', with_landmark=False, basenum=None, fixed_head=False, train_prelu=None):
    """Build network ``name`` (see :func:`list_networks`).

    ``with_landmark`` adds the 5-point head to an Onet; ``basenum`` (16/32/64/128) sets the
    width of Lnet/Lnet106 variants (default 32, as in the original). ``fixed_head``: the landmark
    output's BatchNorm uses its stored statistics in training too (an affine layer whose values
    the trainer sets and freezes; the test graph is the same either way). ``train_prelu``: how a
    training graph computes its PReLUs (:func:`symbols.builder.build`).
    """
    info = network_info(name)
    if with_landmark and info['kind'] != 'onet':
        raise NetworkError('with_landmark applies to Onet variants only, not %s' % name)
    if basenum is not None and not info['basenum']:
        raise NetworkError('basenum applies to Lnet/Lnet106 variants only, not %s' % name)
    return build(NETWORKS[info['name']], mode=mode, with_landmark=with_landmark, basenum=basenum,
                 fixed_head=fixed_head, train_prelu=train_prelu)
