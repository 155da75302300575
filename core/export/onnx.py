"""ONNX export of inference models, and of a whole cascade as a deployable folder.

Two fixes make MXNet 1.9.1's exporter work for these nets: softmax over axis 1 (already in the
symbols) and PReLU slopes reshaped to (C, 1, 1) so they broadcast over N×C×H×W. Pnets are exported
with dynamic height/width, the other nets with a dynamic batch. ``fast_prelu`` rewrites every
``PRelu`` as ``s·x + (1 − s)·Relu(x)`` (ONNX Runtime fuses that; other runtimes handle PRelu
natively, so plain exports keep it).
"""
import json
import os

import numpy as np

import symbols  # noqa: F401  (sets the MXNet environment first)
import mxnet as mx

from ..fileio import atomic_call, save_json, scratch_file

OUTPUT_NAMES = {'pnet': ['prob', 'bbox'], 'rnet': ['prob', 'bbox'], 'onet': ['prob', 'bbox', 'landmarks'],
                'lnet': ['landmarks']}


def _prelu_params(sym):
    return {n['name'] + '_gamma' for n in json.loads(sym.tojson())['nodes'] if n['op'] == 'LeakyReLU'}


def onnx_proto(model, fast_prelu=False, opset=None, output_names=None, fold=False):
    """``model`` (a :class:`core.model_io.InferenceModel`) as a checked ONNX ``ModelProto``. ``opset``
    converts to that opset (default: the installed onnx's newest); ``output_names`` renames the graph
    outputs (e.g. ``prob``, ``bbox``, ``landmarks``); ``fold`` folds PReLUs into the next convolution."""
    import onnx
    info = model.info
    size = info['size']
    prelu = _prelu_params(model.sym)
    params = {name: (value.reshape((-1, 1, 1)) if name in prelu else value).as_in_context(mx.cpu())
              for name, value in list(model.arg.items()) + list(model.aux.items())}
    dyn = [(None, 3, None, None)] if info['kind'] == 'pnet' else [(None, 3, size, size)]
    with scratch_file('.onnx') as tmp:  # MXNet's exporter only writes to a path
        mx.onnx.export_model(model.sym, params, in_shapes=[(1, 3, size, size)], in_types=[np.float32],
                             onnx_file_path=tmp, dynamic=True, dynamic_input_shapes=dyn)
        graph_model = onnx.load(tmp)
    inits = {i.name for i in graph_model.graph.initializer}
    keep = [i for i in graph_model.graph.input if i.name not in inits]
    del graph_model.graph.input[:]
    graph_model.graph.input.extend(keep)
    if fold:
        fold_prelu(graph_model)
    if fast_prelu:
        decompose_prelu(graph_model)
    if getattr(model, 'weighted_106', False):
        unweight_106(graph_model)
    if output_names:
        rename_outputs(graph_model, output_names)
    if opset:
        retarget_opset(graph_model, int(opset), channel_softmax=info['kind'] == 'pnet')
    onnx.checker.check_model(graph_model, full_check=True)
    return graph_model


def export_onnx(model, path, fast_prelu=False, opset=None, output_names=None, fold=False):
    """Write ``model`` to ``path`` as ONNX (atomically; the settings as :func:`onnx_proto`)."""
    import onnx
    graph_model = onnx_proto(model, fast_prelu, opset, output_names, fold)
    atomic_call(path, lambda tmp: onnx.save(graph_model, tmp))
    return path


MIN_OPSET = 11
# ops these graphs use whose behaviour is the same from opset 11 on (later versions only add types or
# optional attributes that the exporter leaves unset); Softmax changed in 13 and is rewritten below
SAME_SINCE_11 = {'Add', 'BatchNormalization', 'Concat', 'Conv', 'Div', 'Flatten', 'Gemm', 'Mul', 'Relu', 'Reshape',
                 'Shape', 'Slice', 'Sub', 'Softmax', 'MaxPool', 'PRelu', 'Sigmoid', 'Transpose'}


def retarget_opset(graph_model, target, channel_softmax=False):
    """Stamp an older opset on a graph whose ops behave the same there (onnx's own converter lacks
    adapters for several of them). Before opset 13, Softmax normalises over all dimensions from its
    axis on, so a per-channel Softmax of an N×C×H×W map becomes Transpose → Softmax(last) → Transpose."""
    from onnx import helper
    current = graph_model.opset_import[0].version
    if target >= current:
        graph_model.opset_import[0].version = target
        return graph_model
    if target < MIN_OPSET:
        raise ValueError('opset %d is too old for these graphs (they need %d or newer)' % (target, MIN_OPSET))
    unknown = sorted({n.op_type for n in graph_model.graph.node} - SAME_SINCE_11)
    if unknown:
        raise ValueError('cannot retarget %s to opset %d' % (', '.join(unknown), target))
    nodes = []
    for n in graph_model.graph.node:
        kept = [a for a in n.attribute if not (n.op_type == 'BatchNormalization' and a.name == 'training_mode') and
                not (n.op_type == 'Reshape' and a.name == 'allowzero') and not (n.op_type == 'Shape' and a.name in ('start', 'end'))]
        del n.attribute[:]
        n.attribute.extend(kept)
        if n.op_type == 'Softmax' and channel_softmax and target < 13:
            x, y = n.input[0], n.output[0]
            nodes += [helper.make_node('Transpose', [x], [y + '_nhwc'], perm=[0, 2, 3, 1], name=y + '_to_nhwc'),
                      helper.make_node('Softmax', [y + '_nhwc'], [y + '_sm'], axis=3, name=y + '_softmax'),
                      helper.make_node('Transpose', [y + '_sm'], [y], perm=[0, 3, 1, 2], name=y + '_to_nchw')]
            continue
        nodes.append(n)
    del graph_model.graph.node[:]
    graph_model.graph.node.extend(nodes)
    graph_model.opset_import[0].version = target
    return graph_model


def unweight_106(graph_model):
    """Halve the eyebrow and lip coordinates of a 106-point net trained with doubled targets (as
    :class:`core.model_io.InferenceModel` does), so the exported model outputs plain points."""
    from onnx import helper, numpy_helper
    from ..augment import WEIGHTED_106
    g = graph_model.graph
    scale = np.ones(212, np.float32)
    scale[np.stack([2 * WEIGHTED_106, 2 * WEIGHTED_106 + 1], 1).ravel()] = 0.5
    out = g.output[0].name
    g.initializer.append(numpy_helper.from_array(scale, 'unweight_106_scale'))
    for node in g.node:
        node.output[:] = [out + '_weighted' if o == out else o for o in node.output]
    g.node.append(helper.make_node('Mul', [out + '_weighted', 'unweight_106_scale'], [out], name='unweight_106'))
    return graph_model


def rename_outputs(graph_model, names):
    """Give the graph outputs ``names`` (in order), rewiring the nodes that produce them."""
    g = graph_model.graph
    for out, new in zip(g.output, names):
        old = out.name
        for node in g.node:
            for k, o in enumerate(node.output):
                if o == old:
                    node.output[k] = new
            for k, o in enumerate(node.input):
                if o == old:
                    node.input[k] = new
        out.name = new
    return graph_model


def fold_prelu(graph_model):
    """In place: a ``PRelu(x, s)`` whose only consumers are convolutions on it is folded into them:
    ``Conv(PRelu(x))`` = ``Conv(x; W·s) + Conv(Relu(x); W·(1 − s))`` (per input channel; for a
    depthwise conv per output channel). The PReLU's elementwise passes over the (largest) activation
    go; ONNX Runtime fuses the Add into the second convolution. Outputs equal to float rounding."""
    from onnx import helper, numpy_helper
    g = graph_model.graph
    inits = {i.name: i for i in g.initializer}
    users = {}
    for n in g.node:
        for i in n.input:
            users.setdefault(i, []).append(n)
    graph_outputs = {o.name for o in g.output}
    replace = {}
    for n in g.node:
        y = n.output[0]
        convs = users.get(y, [])
        if n.op_type != 'PRelu' or n.input[1] not in inits or y in graph_outputs or not convs or any(
                u.op_type != 'Conv' or list(u.input).count(y) != 1 or u.input[0] != y or u.input[1] not in inits
                for u in convs):
            continue
        x, slope = n.input[0], numpy_helper.to_array(inits[n.input[1]]).reshape(-1)
        replace[id(n)] = [helper.make_node('Relu', [x], [y + '_relu'], name=y + '_relu')]
        for u in convs:
            w = numpy_helper.to_array(inits[u.input[1]])
            depthwise = next((a.i for a in u.attribute if a.name == 'group'), 1) > 1
            shape = (-1, 1, 1, 1) if depthwise else (1, -1, 1, 1)
            out = u.output[0]
            g.initializer.extend([numpy_helper.from_array((w * slope.reshape(shape)).astype(w.dtype), out + '_w_lin'),
                                  numpy_helper.from_array((w * (1 - slope).reshape(shape)).astype(w.dtype),
                                                          out + '_w_pos')])
            lin = helper.make_node('Conv', [x, out + '_w_lin'] + list(u.input[2:]), [out + '_lin'], name=out + '_lin')
            pos = helper.make_node('Conv', [y + '_relu', out + '_w_pos'], [out + '_pos'], name=out + '_pos')
            for node in (lin, pos):
                node.attribute.extend(u.attribute)
            replace[id(u)] = [lin, pos, helper.make_node('Add', [out + '_lin', out + '_pos'], [out], name=out + '_add')]
    nodes = [m for n in g.node for m in replace.get(id(n), [n])]
    del g.node[:]
    g.node.extend(nodes)
    return graph_model


def decompose_prelu(graph_model):
    """In place: ``PRelu(x, s)`` → ``s·x + (1 − s)·Relu(x)`` for constant slopes ``s``."""
    from onnx import helper, numpy_helper
    g = graph_model.graph
    inits = {i.name: i for i in g.initializer}
    nodes = []
    for n in g.node:
        if n.op_type != 'PRelu' or n.input[1] not in inits:
            nodes.append(n)
            continue
        (x, slope), y, p = n.input, n.output[0], n.name or n.output[0]
        rest = numpy_helper.to_array(inits[slope])
        g.initializer.append(numpy_helper.from_array((1 - rest).astype(rest.dtype), p + '_one_minus_slope'))
        nodes += [helper.make_node('Relu', [x], [p + '_pos'], name=p + '_relu'),
                  helper.make_node('Mul', [x, slope], [p + '_sx'], name=p + '_sx'),
                  helper.make_node('Mul', [p + '_pos', p + '_one_minus_slope'], [p + '_rx'], name=p + '_rx'),
                  helper.make_node('Add', [p + '_sx', p + '_rx'], [y], name=p + '_add')]
    del g.node[:]
    g.node.extend(nodes)
    return graph_model


PARITY_SEED = 0  # the random inputs an export is checked on


def parity(model, onnx_model, seed=PARITY_SEED):
    """Max abs difference MXNet vs ONNX Runtime on random inputs (Pnets at two sizes)."""
    size = model.info['size']
    shapes = [(1, 3, 240, 320), (1, 3, 97, 131)] if model.info['kind'] == 'pnet' else [(3, 3, size, size)]
    rng = np.random.RandomState(seed)
    worst = 0.0
    for shape in shapes:
        x = rng.uniform(-1, 1, shape).astype(np.float32)
        for a, b in zip(model(x), onnx_model(x)):
            worst = max(worst, float(np.abs(a - b).max()))
    return worst


STAGE_FILES = ('pnet', 'rnet', 'onet', 'lnet')


def export_cascade(models, out_dir, settings, opset=None, fast_prelu=True):
    """A deployable folder: ``pnet.onnx``, ``rnet.onnx``, ``onet.onnx`` [``lnet.onnx``] with outputs
    named ``prob`` / ``bbox`` / ``landmarks``, and ``cascade.json`` — per stage the file, input size,
    Pnet cell and stride, outputs, and the detector settings (thresholds, minimum face, pyramid
    factor) and preprocessing (BGR, (x − 127.5) / 128, NCHW) a runtime needs.
    ``models``: {stage: InferenceModel}; ``settings``: thresh, min_face, factor."""
    stages = {}
    for stage in STAGE_FILES:
        model = models.get(stage)
        if model is None:
            continue
        info = model.info
        names = OUTPUT_NAMES[info['kind']][:len(model.sym.list_outputs())]
        export_onnx(model, os.path.join(out_dir, stage + '.onnx'), fast_prelu, opset, names)
        entry = dict(file=stage + '.onnx', network=model.network, kind=info['kind'], size=info['size'],
                     n_points=info['n_points'] if info['kind'] == 'lnet' else (5 if model.with_landmark else 0),
                     outputs=names)
        if info['kind'] == 'pnet':
            entry.update(cell=info['cell'], stride=info['stride'])
        stages[stage] = entry
    card = dict(format='train-mtcnn onnx cascade', version=1, stages=stages,
                thresh=[float(t) for t in settings['thresh']], min_face=float(settings['min_face']),
                factor=float(settings.get('factor', 0.709)), nms=dict(pnet_level=0.5, pnet_all=0.7, rnet=0.7, onet=0.7),
                preprocess=dict(color='BGR', layout='NCHW', mean=127.5, scale=0.0078125,
                                formula='(x - 127.5) * 0.0078125'),
                opset=int(opset) if opset else None)
    save_json(os.path.join(out_dir, 'cascade.json'), card)
    return card
