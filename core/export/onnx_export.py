"""ONNX export of inference models, and of a whole cascade as a deployable folder.

Two fixes make MXNet 1.9.1's exporter work for these nets: softmax over axis 1 (already in the
symbols) and PReLU slopes reshaped to (C, 1, 1) so they broadcast over N×C×H×W. Pnets are exported
with dynamic height/width, the other nets with a dynamic batch.

ONNX Runtime runs ``PRelu`` as a slow broadcast loop that also breaks its blocked (NCHWc) convolution
chains; other runtimes handle PRelu natively, so plain exports keep it. For ONNX Runtime three exact
rewrites (outputs equal to float rounding) remove it: ``pair`` (:func:`pair_prelu`, the Pnets),
``fold`` (:func:`fold_prelu`, the crop nets) and ``fast_prelu`` (:func:`decompose_prelu`, whatever
is left); :func:`runtime_rewrites` says which a net gets, and ``sigmoid`` (:func:`sigmoid_softmax`)
replaces the Pnet's channel Softmax.
"""
import json
import os

import numpy as np

import symbols  # noqa: F401  (sets the MXNet environment first)
import mxnet as mx

from core.common.fileio import atomic_call, save_json, scratch_file
from core.common.errors import SettingError

OUTPUT_NAMES = {'pnet': ['prob', 'bbox'], 'rnet': ['prob', 'bbox'], 'onet': ['prob', 'bbox', 'landmarks'],
                'lnet': ['landmarks']}


def _prelu_params(sym):
    return {n['name'] + '_gamma' for n in json.loads(sym.tojson())['nodes'] if n['op'] == 'LeakyReLU'}


def runtime_rewrites(kind):
    """The PReLU rewrites ONNX Runtime runs fastest for a net of ``kind`` (one core, measured on the
    default models: paired Pnet 2.7x faster than decomposed on a 640x480 image, and its class Softmax as
    a Sigmoid another 6 %; on the wider crop nets pairing is 1.4x slower than folding, which is 8-10 %
    faster than decomposing)."""
    return dict(fast_prelu=True, pair=kind == 'pnet', fold=kind != 'pnet', sigmoid=kind == 'pnet')


def onnx_proto(model, fast_prelu=False, opset=None, output_names=None, fold=False, pair=False, sigmoid=False):
    """``model`` (a :class:`core.runtime.model_io.InferenceModel`) as a checked ONNX ``ModelProto``. ``opset``
    converts to that opset (default: the installed onnx's newest); ``output_names`` renames the graph
    outputs (e.g. ``prob``, ``bbox``, ``landmarks``); ``pair``, ``fold``, ``fast_prelu``: the PReLU
    rewrites, applied in that order (see the module docstring); ``sigmoid``: :func:`sigmoid_softmax`."""
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
    if sigmoid:
        sigmoid_softmax(graph_model)
    if pair:
        pair_prelu(graph_model)
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


def export_onnx(model, path, fast_prelu=False, opset=None, output_names=None, **rewrites):
    """Write ``model`` to ``path`` as ONNX (atomically; the settings as :func:`onnx_proto`)."""
    import onnx
    graph_model = onnx_proto(model, fast_prelu, opset, output_names, **rewrites)
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
        raise SettingError('opset %d is too old for these graphs (they need %d or newer)' % (target, MIN_OPSET))
    unknown = sorted({n.op_type for n in graph_model.graph.node} - SAME_SINCE_11)
    if unknown:
        raise SettingError('cannot retarget %s to opset %d' % (', '.join(unknown), target))
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
    :class:`core.runtime.model_io.InferenceModel` does), so the exported model outputs plain points."""
    from onnx import helper, numpy_helper
    from core.landmarks.points import WEIGHTED_106
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
    users = _users(g)
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


def _users(g):
    """{tensor name: the nodes that read it} of an ONNX graph."""
    users = {}
    for n in g.node:
        for i in n.input:
            users.setdefault(i, []).append(n)
    return users


def _group(node):
    return next((a.i for a in node.attribute if a.name == 'group'), 1)


def _set_nodes(g, nodes):
    """The graph's nodes become ``nodes``; initializers no node reads any more are dropped."""
    del g.node[:]
    g.node.extend(nodes)
    used = {i for n in g.node for i in n.input}
    keep = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)


def pair_prelu(graph_model):
    """In place: every ``PRelu(x, s)`` whose consumers are all convolutions on it becomes the signed
    pair ``r = Relu([x; −x])`` (2C channels), with ``PRelu(x) = r₊ − s·r₋`` folded into the consumers'
    weights: a full convolution ``W`` becomes ``[W, −W·s]`` over the pair, a depthwise one runs over the
    2C channels with ``[W; −s·W]`` and its two halves are summed by the next pair's 1x1 convolution
    ``[[I, I], [−I, −I]]`` (or by ``[I, I]`` when no PReLU follows). The ``[I; −I]`` after a full
    convolution folds into it (:func:`fold_pointwise`), so what remains is convolutions with fused Relus:
    on ONNX Runtime's blocked kernels (16 channels per block) doubling an 8- or 16-channel map is
    nearly free, while three elementwise passes over the largest maps go."""
    from onnx import helper, numpy_helper
    g = graph_model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    users = _users(g)
    outs = {o.name for o in g.output}

    def eligible(n):  # constant slopes, consumed only by full or depthwise convolutions
        y = n.output[0]
        if n.op_type != 'PRelu' or n.input[1] not in inits or y in outs or not users.get(y):
            return False
        c = inits[n.input[1]].size
        return all(u.op_type == 'Conv' and list(u.input).count(y) == 1 and u.input[0] == y
                   and all(i in inits for i in u.input[1:])
                   and (_group(u) == 1 or _group(u) == c == inits[u.input[1]].shape[0]) for u in users[y])

    rewrite = {id(n) for n in g.node if eligible(n)}
    added, replace, paired = [], {}, set()

    def conv(name, x, out, w, b=None, like=None, group=None):
        added.append(numpy_helper.from_array(np.ascontiguousarray(w, np.float32), name + '_w'))
        ins = [x, name + '_w']
        if b is not None:
            added.append(numpy_helper.from_array(np.ascontiguousarray(b, np.float32), name + '_b'))
            ins.append(name + '_b')
        node = helper.make_node('Conv', ins, [out], name=name)
        node.attribute.extend([a for a in like.attribute if a.name != 'group'] if like is not None
                              else [helper.make_attribute('kernel_shape', [1, 1])])
        if group:
            node.attribute.append(helper.make_attribute('group', group))
        return node

    for n in g.node:
        if id(n) not in rewrite:
            continue
        x, y = n.input[0], n.output[0]
        s = inits[n.input[1]].reshape(-1).astype(np.float32)
        c = len(s)
        eye = np.eye(c, dtype=np.float32)
        split = np.block([[eye, eye], [-eye, -eye]]) if x in paired else np.concatenate([eye, -eye])
        replace[id(n)] = [conv(y + '_pm', x, y + '_pm', split[:, :, None, None]),
                          helper.make_node('Relu', [y + '_pm'], [y + '_pair'], name=y + '_pair')]
        for u in users[y]:
            w = inits[u.input[1]]
            b = inits[u.input[2]] if len(u.input) > 2 else np.zeros(w.shape[0], np.float32)
            out = u.output[0]
            if _group(u) == 1:
                w2 = np.concatenate([w, -w * s[None, :, None, None]], 1)
                replace[id(u)] = [conv(out + '_paired', y + '_pair', out, w2, b, like=u)]
                continue
            halves = conv(out + '_paired', y + '_pair', out, np.concatenate([w, -w * s[:, None, None, None]]),
                          np.concatenate([b, np.zeros(c, np.float32)]), like=u, group=2 * c)
            after = users.get(out, [])
            if len(after) == 1 and id(after[0]) in rewrite and out not in outs:
                paired.add(out)  # the next pair's 1x1 convolution sums the halves
                replace[id(u)] = [halves]
            else:
                halves.output[0] = out + '_halves'
                replace[id(u)] = [halves, conv(out + '_sum', out + '_halves', out,
                                               np.concatenate([eye, eye], 1)[:, :, None, None])]
    nodes = [m for n in g.node for m in replace.get(id(n), [n])]
    del g.node[:]
    g.node.extend(nodes)
    g.initializer.extend(added)
    return fold_pointwise(graph_model)


def _pointwise_pair(n, producer, inits, users, outs):
    """The full convolution a bias-free 1x1 convolution ``n`` can be folded into, or None."""
    p = producer.get(n.input[0])
    if n.op_type != 'Conv' or len(n.input) != 2 or _group(n) != 1 or n.input[1] not in inits:
        return None
    if p is None or p.op_type != 'Conv' or _group(p) != 1 or len(users[p.output[0]]) != 1 or p.output[0] in outs:
        return None
    return p if all(i in inits for i in p.input[1:]) else None


def fold_pointwise(graph_model):
    """In place: a bias-free 1x1 convolution whose input is the only use of a full convolution's
    output is folded into that convolution (``M·(W∗x + b)`` = ``(M·W)∗x + M·b``); unused weights go."""
    from onnx import numpy_helper
    g = graph_model.graph
    inits = {i.name: i for i in g.initializer}
    users, outs = _users(g), {o.name for o in g.output}
    producer = {o: n for n in g.node for o in n.output}
    drop = set()
    for n in g.node:
        p = _pointwise_pair(n, producer, inits, users, outs)
        if p is None:
            continue
        m = numpy_helper.to_array(inits[n.input[1]])
        if m.shape[2:] != (1, 1):
            continue
        m = m[:, :, 0, 0]
        w = numpy_helper.to_array(inits[p.input[1]])
        b = numpy_helper.to_array(inits[p.input[2]]) if len(p.input) > 2 else np.zeros(w.shape[0], w.dtype)
        out = n.output[0]
        g.initializer.extend([numpy_helper.from_array(np.tensordot(m, w, axes=(1, 0)).astype(w.dtype), out + '_fw'),
                              numpy_helper.from_array((m @ b).astype(w.dtype), out + '_fb')])
        del p.input[1:]
        p.input.extend([out + '_fw', out + '_fb'])
        p.output[0] = out
        drop.add(id(n))
    nodes = [n for n in g.node if id(n) not in drop]
    _set_nodes(g, nodes)
    return graph_model


def _softmax_source(n, producer, users, inits, outs):
    """(the constant scaling steps, the two-channel convolution) a channel Softmax ``n`` reads, or None."""
    if n.op_type != 'Softmax' or next((a.i for a in n.attribute if a.name == 'axis'), -1) != 1:
        return None
    chain, x = [], n.input[0]
    while x in producer and producer[x].op_type in ('BatchNormalization', 'Div', 'Mul') \
            and len(users[x]) == 1 and x not in outs and all(i in inits for i in producer[x].input[1:]):
        chain.append(producer[x])
        x = producer[x].input[0]
    conv = producer.get(x)
    if conv is None or conv.op_type != 'Conv' or _group(conv) != 1 or len(users[x]) != 1 or x in outs:
        return None
    if any(i not in inits for i in conv.input[1:]) or inits[conv.input[1]].shape[0] != 2:
        return None
    return chain, conv


def _affine(step, inits):
    """(scale, shift) per channel of a constant BatchNormalization, Div or Mul step."""
    if step.op_type == 'BatchNormalization':
        gamma, beta, mean, var = (inits[i].astype(np.float64) for i in step.input[1:5])
        eps = next((a.f for a in step.attribute if a.name == 'epsilon'), 1e-5)
        scale = gamma / np.sqrt(var + eps)
        return scale, beta - scale * mean
    k = inits[step.input[1]].astype(np.float64).reshape(-1)
    return (1.0 / k if step.op_type == 'Div' else k) * np.ones(2), np.zeros(2)


def sigmoid_softmax(graph_model):
    """In place: a two-class ``Softmax`` over the channels of a convolution's map (through constant
    BatchNormalization / Div / Mul steps) becomes one convolution giving ``[z0 − z1; z1 − z0]`` and a
    ``Sigmoid``, which is the same function (``softmax(z)₁ = σ(z1 − z0)``). ONNX Runtime runs a channel
    Softmax by transposing the map twice; the Sigmoid fuses into the convolution."""
    from onnx import helper, numpy_helper
    g = graph_model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    users, outs = _users(g), {o.name for o in g.output}
    drop, replace = set(), {}
    for n in g.node:
        found = _softmax_source(n, producer, users, inits, outs)
        if found is None:
            continue
        chain, conv = found
        w = inits[conv.input[1]].astype(np.float64)
        b = inits[conv.input[2]].astype(np.float64) if len(conv.input) > 2 else np.zeros(2)
        for step in reversed(chain):  # z = scale · conv + shift, applied in graph order
            scale, shift = _affine(step, inits)
            w, b = w * scale[:, None, None, None], b * scale + shift
        flip = np.array([[1.0, -1.0], [-1.0, 1.0]])
        name = n.output[0]
        g.initializer.extend([numpy_helper.from_array(np.tensordot(flip, w, axes=(1, 0)).astype(np.float32), name + '_dw'),
                              numpy_helper.from_array((flip @ b).astype(np.float32), name + '_db')])
        diff = helper.make_node('Conv', [conv.input[0], name + '_dw', name + '_db'], [name + '_diff'], name=name + '_diff')
        diff.attribute.extend([a for a in conv.attribute])
        replace[id(n)] = [diff, helper.make_node('Sigmoid', [name + '_diff'], [name], name=name + '_sigmoid')]
        drop.update(id(m) for m in chain + [conv])
    nodes = [m for n in g.node if id(n) not in drop for m in replace.get(id(n), [n])]
    _set_nodes(g, nodes)
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
    ``models``: {stage: InferenceModel}; ``settings``: the :class:`core.recipes.cascade_settings.CascadeSettings`
    the folder records (thresholds of the stages exported, minimum face, factor, and ``lnet_flip`` with a
    landmark net)."""
    if not settings.single_onet_pass:
        raise SettingError('a deployed cascade runs one plain Onet pass: export an operating point without the '
                         'Onet test-time options (--onet_flip off --onet_passes 1, or --point default)')
    stages = {}
    for stage in STAGE_FILES:
        model = models.get(stage)
        if model is None:
            continue
        info = model.info
        names = OUTPUT_NAMES[info['kind']][:len(model.sym.list_outputs())]
        rewrites = runtime_rewrites(info['kind']) if fast_prelu else {}
        export_onnx(model, os.path.join(out_dir, stage + '.onnx'), opset=opset, output_names=names, **rewrites)
        entry = dict(file=stage + '.onnx', network=model.network, kind=info['kind'], size=info['size'],
                     n_points=info['n_points'] if info['kind'] == 'lnet' else (5 if model.with_landmark else 0),
                     outputs=names)
        if info['kind'] == 'pnet':
            entry.update(cell=info['cell'], stride=info['stride'])
        stages[stage] = entry
    card = dict(format='train-mtcnn onnx cascade', version=1, stages=stages,
                thresh=[float(t) for t in settings.thresh[:len([s for s in stages if s != 'lnet'])]],
                min_face=float(settings.min_face), factor=float(settings.factor), nms=dict(pnet_level=0.5, pnet_all=0.7, rnet=0.7, onet=0.7),
                preprocess=dict(color='BGR', layout='NCHW', mean=127.5, scale=0.0078125,
                                formula='(x - 127.5) * 0.0078125'),
                opset=int(opset) if opset else None)
    if 'lnet' in stages:  # average the landmark net's points with those of the mirrored crop
        card['lnet_flip'] = bool(settings.lnet_flip)
    save_json(os.path.join(out_dir, 'cascade.json'), card)
    return card


def to_onnx_model(model, threads=None, fast_prelu=True):
    """Export an ``InferenceModel`` to ONNX in memory and open it with ONNX Runtime, its PReLUs
    rewritten as ONNX Runtime runs them fastest (``fast_prelu``; False keeps the plain graph)."""
    from core.runtime.onnx_runtime import OnnxModel
    return OnnxModel.from_portable(portable(model, fast_prelu), threads)


def portable(model, fast_prelu=True):
    """An ``InferenceModel`` as a picklable dict another process opens with
    :meth:`core.runtime.onnx_runtime.OnnxModel.from_portable` (ONNX Runtime alone, no MXNet import):
    what :func:`to_onnx_model` would run."""
    proto = onnx_proto(model, **(runtime_rewrites(model.info['kind']) if fast_prelu else {}))
    return dict(onnx=proto.SerializeToString(), network=model.network, info=dict(model.info),
                with_landmark=bool(model.with_landmark))


def to_opencv_model(model, threads=None):
    """Export an ``InferenceModel`` to ONNX in memory and open it with OpenCV's DNN module (plain PReLU,
    nothing folded: what OpenCV fuses best)."""
    from core.runtime.onnx_runtime import OpenCVModel
    out = OpenCVModel(onnx_proto(model), model.network, threads, info=model.info)
    out.with_landmark = model.with_landmark
    return out
