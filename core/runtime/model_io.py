"""Checkpoints: load the original's ``prefix-symbol.json`` + ``prefix-%04d.params`` and this
project's own, save atomically, and run an inference model.

Own checkpoints store an *inference* graph (no loss or Custom nodes) whose ``data`` node
records the network name, so any MXNet runtime can load them and :func:`load_model`
needs no ``--network`` flag. Original checkpoints are matched to a registered variant by
their parameter names and shapes.
"""
import json
import os
import warnings

import numpy as np

import symbols  # sets MXNET_SUBGRAPH_BACKEND before mxnet is imported
import mxnet as mx

from core.common.errors import ModelError  # noqa: F401  (raised here, caught by the tools as model_io.ModelError)
from core.common.fileio import atomic_call, atomic_write

NETWORK_ATTR = 'mtcnn_network'


def mx_message(exc):
    """The informative line of an MXNetError (its text starts with a C++ stack trace)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    useful = [ln for ln in lines if not ln.startswith(('Traceback', 'File ', '[bt]', 'Stack trace', '  '))
              and ':' in ln]
    return (useful or lines or [type(exc).__name__])[-1][:300]


def params_path(prefix, epoch):
    return '%s-%04d.params' % (prefix, int(epoch))


def available_epochs(prefix):
    """Sorted epochs of the ``prefix-NNNN.params`` files that exist."""
    import glob
    import re
    pat = re.compile(re.escape(os.path.basename(prefix)) + r'-(\d{4,})\.params$')
    found = (pat.match(os.path.basename(p)) for p in glob.glob(glob.escape(prefix) + '-*.params'))
    return sorted(int(m.group(1)) for m in found if m)


def load_params(path):
    """Read an ``arg:``/``aux:`` params file into two dicts of NDArrays."""
    if not os.path.isfile(path):
        raise ModelError('parameter file not found: %s' % path)
    try:
        saved = mx.nd.load(path)
    except Exception as exc:  # mxnet raises MXNetError with a C++ trace
        raise ModelError('%s: cannot read the parameter file (%s)' % (path, mx_message(exc)))
    arg, aux = {}, {}
    for key, value in saved.items():
        kind, _, name = key.partition(':')
        if kind == 'arg':
            arg[name] = value
        elif kind == 'aux':
            aux[name] = value
        else:
            raise ModelError('%s: key %r is neither arg: nor aux:' % (path, key))
    return arg, aux


def save_checkpoint(prefix, epoch, sym, arg, aux, network=None, with_landmark=False, basenum=None,
                    custom_graph=False, weighted_106=False):
    """Write ``prefix-symbol.json`` (inference graph) and ``prefix-%04d.params`` atomically.

    The graph's ``data`` node records the network and its options. ``custom_graph``: the graph
    differs from the registry's (e.g. BatchNorm merged), so :func:`load_model` uses the stored graph.
    ``weighted_106``: a 106-point net trained with doubled eyebrow and lip targets (its predictions
    of those points are halved when it runs).
    """
    graph = json.loads(sym.tojson())
    if network:
        attrs = next(n for n in graph['nodes'] if n['op'] == 'null' and n['name'] == 'data').setdefault('attrs', {})
        attrs[NETWORK_ATTR] = network
        attrs['mtcnn_with_landmark'] = str(bool(with_landmark))
        if basenum:
            attrs['mtcnn_basenum'] = str(int(basenum))
        if custom_graph:
            attrs['mtcnn_custom_graph'] = 'True'
        if weighted_106:
            attrs['mtcnn_weighted_106'] = 'True'
    save = {'arg:%s' % k: v.as_in_context(mx.cpu()) for k, v in arg.items()}
    save.update({'aux:%s' % k: v.as_in_context(mx.cpu()) for k, v in aux.items()})
    with atomic_write(prefix + '-symbol.json') as f:
        f.write(json.dumps(graph, indent=2))
    atomic_call(params_path(prefix, epoch), lambda tmp: mx.nd.save(tmp, save))


# --- the original's training graphs ---------------------------------------------------------

_ORIGINAL_OPS = {
    'negativemining': (['cls_prob', 'label', 'bbox_pred', 'bbox_target'], 4),
    'negativemining_landmark': (['cls_prob', 'label', 'bbox_pred', 'bbox_target', 'landmark_pred',
                                 'landmark_target', 'type_label'], 6),
    'negativemining_onlylandmark': (['landmark_pred', 'landmark_target'], 2),
    'negativemining_onlylandmark106': (['landmark_pred', 'landmark_target'], 2),
}
_registered = False


def register_original_ops():
    """Register inert stand-ins for the original's Custom loss ops so its JSONs load."""
    global _registered
    if _registered:
        return
    for op_name, (inputs, n_out) in _ORIGINAL_OPS.items():
        _register_stub(op_name, inputs, n_out)
    _registered = True


def _register_stub(op_name, inputs, n_out):
    class Stub(mx.operator.CustomOp):
        def forward(self, is_train, req, in_data, out_data, aux):
            for i in range(n_out):
                self.assign(out_data[i], req[i], in_data[min(i, len(in_data) - 1)])

        def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
            for i in range(len(in_grad)):
                self.assign(in_grad[i], req[i], 0)

    class StubProp(mx.operator.CustomOpProp):
        def __init__(self):
            super().__init__(need_top_grad=False)

        def list_arguments(self):
            return list(inputs)

        def list_outputs(self):
            return ['out%d' % i for i in range(n_out)]

        def infer_shape(self, in_shape):
            return in_shape, [in_shape[min(i, len(in_shape) - 1)] for i in range(n_out)], []

        def create_operator(self, ctx, shapes, dtypes):
            return Stub()

    mx.operator.register(op_name)(StubProp)


def original_inference_symbol(json_path):
    """Inference outputs of an original training graph: the BatchNorm heads that feed its
    ``SoftmaxOutput`` (softmax over axis 1 applied) and regression outputs, in head order."""
    register_original_ops()
    with open(json_path) as f:
        graph = json.load(f)
    sym = mx.sym.load(json_path)
    nodes = graph['nodes']
    internals = sym.get_internals()
    outs = []
    for node in nodes:
        if node['op'] in ('SoftmaxOutput', 'LinearRegressionOutput'):
            src = nodes[node['inputs'][0][0]]
            while src['op'] == 'Reshape':
                src = nodes[src['inputs'][0][0]]
            head = internals[src['name'] + '_output']
            if node['op'] == 'SoftmaxOutput':
                head = mx.sym.softmax(head, axis=1, name='cls_prob')
            outs.append(head)
    if not outs:
        raise ModelError('%s: no SoftmaxOutput/LinearRegressionOutput heads found' % json_path)
    return mx.sym.Group(outs)


# --- matching parameters to the registry ------------------------------------------------------

def _candidates():
    for name in symbols.list_networks():
        info = symbols.network_info(name)
        yield name, False, None
        if info['kind'] == 'onet':
            yield name, True, None
        if info['basenum']:
            for b in (16, 64, 128):
                yield name, False, b


def _arg_shapes(sym, size):
    shapes, _, aux_shapes = sym.infer_shape(data=(1, 3, size, size))
    return (dict(zip(sym.list_arguments(), shapes)), dict(zip(sym.list_auxiliary_states(), aux_shapes)))


def identify_network(arg, aux):
    """Return (network, with_landmark, basenum) whose parameters match ``arg``/``aux`` exactly."""
    want = {k: tuple(v.shape) for k, v in arg.items()}
    want_aux = {k: tuple(v.shape) for k, v in aux.items()}
    for name, lm, basenum in _candidates():
        sym = symbols.get_symbol(name, 'test', with_landmark=lm, basenum=basenum)
        shapes, aux_shapes = _arg_shapes(sym, symbols.network_info(name)['size'])
        shapes.pop('data')
        if shapes == want and aux_shapes == want_aux:
            return name, lm, basenum
    raise ModelError('parameters match no registered network (%d args, first: %s)'
                     % (len(arg), ', '.join(sorted(arg)[:3])))


# --- running ---------------------------------------------------------------------------------

class InferenceModel:
    """A symbol with its parameters; call it on an N×3×H×W float32 batch to get numpy outputs.

    Runs as a hybridized Gluon ``SymbolBlock`` (MXNet's CachedOp): any input shape, no
    per-shape executor binding, and none of the legacy executor's oneDNN re-forward bug.
    """

    def __init__(self, sym, arg, aux, network=None, with_landmark=False, basenum=None, ctx=None, weighted_106=False):
        self.sym, self.network = sym, network
        self.with_landmark, self.basenum, self.weighted_106 = with_landmark, basenum, weighted_106
        self.ctx = ctx or mx.cpu()
        needed = set(sym.list_arguments()) - {'data'}
        missing = needed - set(arg)
        if missing:
            raise ModelError('missing parameters for %s: %s' % (network or 'graph', sorted(missing)[:5]))
        self.arg = {k: arg[k].as_in_context(self.ctx) for k in needed}
        self.aux = {k: aux[k].as_in_context(self.ctx) for k in sym.list_auxiliary_states()}
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            self.block = mx.gluon.SymbolBlock(sym, [mx.sym.var('data')])
        for name, param in self.block.collect_params().items():
            param._load_init(self.arg[name] if name in self.arg else self.aux[name], self.ctx)
        self.block.hybridize()

    @property
    def info(self):
        return symbols.network_info(self.network) if self.network else {}

    def __call__(self, batch):
        data = mx.nd.array(batch, ctx=self.ctx, dtype=np.float32)
        outs = self.block(data)
        if isinstance(outs, mx.nd.NDArray):
            outs = [outs]
        outs = [o.asnumpy() for o in outs]
        if self.weighted_106:  # undo the training-time doubling of eyebrow and lip targets
            from core.landmarks.points import WEIGHTED_106
            cols = np.stack([2 * WEIGHTED_106, 2 * WEIGHTED_106 + 1], 1).ravel()
            outs[0][:, cols] *= 0.5
        return outs


def _stored_graph(json_path):
    """(the data node's attributes, the graph when it must be used as stored) of an own checkpoint's
    JSON; ({}, None) for the original's training graphs or a missing file."""
    if not os.path.isfile(json_path):
        return {}, None
    try:
        with open(json_path) as f:
            graph = json.load(f)
        nodes = graph['nodes']
        attrs = next((n.get('attrs', {}) for n in nodes if n.get('name') == 'data'), {})
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelError('%s: not an MXNet symbol file (%s)' % (json_path, exc))
    if attrs.get('mtcnn_custom_graph') != 'True':
        return attrs, None
    try:
        return attrs, mx.sym.load(json_path)
    except mx.base.MXNetError as exc:
        raise ModelError('%s: MXNet cannot build this graph (%s)' % (json_path, mx_message(exc)))


def load_model(prefix, epoch, network=None, with_landmark=None, basenum=None, ctx=None):
    """Load an original or own checkpoint as an :class:`InferenceModel` of a registered network.

    ``network`` may be omitted: it is read from an own checkpoint's JSON or matched by the
    parameter names and shapes. The inference graph is rebuilt from the registry (unless the
    checkpoint says its graph is custom, e.g. BatchNorm merged).
    """
    path = params_path(prefix, epoch)
    arg, aux = load_params(path)
    attrs, stored = _stored_graph(prefix + '-symbol.json')
    if network is None and NETWORK_ATTR in attrs:
        network = attrs[NETWORK_ATTR]
        with_landmark = attrs.get('mtcnn_with_landmark') == 'True' if with_landmark is None else with_landmark
        basenum = int(attrs['mtcnn_basenum']) if basenum is None and 'mtcnn_basenum' in attrs else basenum
    if network is None:
        network, lm, bn = identify_network(arg, aux)
        with_landmark = lm if with_landmark is None else with_landmark
        basenum = bn if basenum is None else basenum
    try:
        network = symbols.canonical_name(network)
        sym = stored if stored is not None else \
            symbols.get_symbol(network, 'test', with_landmark=bool(with_landmark), basenum=basenum)
        _check_shapes(sym, arg, network, symbols.network_info(network)['size'])
        return InferenceModel(sym, arg, aux, network, bool(with_landmark), basenum, ctx,
                              attrs.get('mtcnn_weighted_106') == 'True')
    except (ModelError, KeyError, ValueError) as exc:
        raise ModelError('%s: %s' % (path, exc))


def _check_shapes(sym, arg, network, size):
    """The parameters must have the shapes the network needs (a checkpoint naming the wrong network)."""
    shapes, _ = _arg_shapes(sym, size)
    for name, shape in shapes.items():
        if name in arg and tuple(arg[name].shape) != tuple(shape):
            raise ModelError('parameter %s has shape %s, but %s needs %s (the checkpoint is not a %s)'
                             % (name, tuple(arg[name].shape), network, tuple(shape), network))
