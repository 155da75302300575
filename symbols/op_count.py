"""FLOP and parameter counting under the original README rule.

"fma counted once, after merging BN": per layer (ZQCNN's ``GetNumOfMulAdd``)

* Convolution / depthwise: out_elems · k_h · k_w · C_in/groups MACs + 1 per output (bias);
* PReLU: 3 per element; ReLU, element-wise add, un-mergeable BatchNorm: 1 per element;
* pooling: out_elems · k_h · k_w; FullyConnected: MACs only;
* BatchNorm directly after a conv/FC is merged (0); softmax, reshape, flatten: 0.

Pnet rows exclude layers that only feed the bbox head. Results are in units of 2**20.
"""
import json

import numpy as np

MEGA = float(2 ** 20)


def _shape_table(sym, data_shape):
    internals = sym.get_internals()
    _, out_shapes, _ = internals.infer_shape(data=data_shape)
    return dict(zip(internals.list_outputs(), out_shapes))


def _ancestors(nodes, heads):
    keep, stack = set(), list(heads)
    while stack:
        i = stack.pop()
        if i in keep:
            continue
        keep.add(i)
        stack.extend(inp[0] for inp in nodes[i]['inputs'])
    return keep


def _tuple(attr, default):
    if attr is None:
        return default
    return tuple(int(v) for v in attr.strip('()[] ').split(',') if v.strip())


def count_ops(sym, data_shape, cls_only=False):
    """Ops (README rule, plain count) of ``sym`` at ``data_shape`` (N,C,H,W).

    ``cls_only``: count only layers feeding the first output (Pnet rows, "不计bbox").
    """
    graph = json.loads(sym.tojson())
    nodes = graph['nodes']
    shapes = _shape_table(sym, data_shape)
    heads = [graph['heads'][0][0]] if cls_only else [h[0] for h in graph['heads']]
    used = _ancestors(nodes, heads)

    def out_shape(i):
        return shapes[nodes[i]['name'] + '_output']

    def in_shape(i):
        src = nodes[i]['inputs'][0][0]
        if nodes[src]['op'] == 'null':
            return data_shape
        return out_shape(src)

    total = 0.0
    for i, node in enumerate(nodes):
        op = node['op']
        if op == 'null' or i not in used:
            continue
        attrs = node.get('attrs', {})
        n_out = float(np.prod(out_shape(i)[1:]))
        if op == 'Convolution':
            k = _tuple(attrs.get('kernel'), (1, 1))
            groups = int(attrs.get('num_group', 1))
            c_in = in_shape(i)[1]
            total += n_out * k[0] * k[1] * (c_in // groups) + n_out
        elif op == 'LeakyReLU':
            total += (3 if attrs.get('act_type') == 'prelu' else 1) * n_out
        elif op == 'BatchNorm':
            src = nodes[node['inputs'][0][0]]['op']
            if src not in ('Convolution', 'FullyConnected'):
                total += n_out
        elif op == 'Pooling':
            k = _tuple(attrs.get('kernel'), (1, 1))
            total += n_out * k[0] * k[1]
        elif op == 'FullyConnected':
            total += float(np.prod(in_shape(i)[1:])) * n_out
        elif op in ('elemwise_add', '_Plus', '_plus', 'broadcast_add', 'Activation', 'relu'):
            total += n_out
    return total


def count_params(sym, data_shape):
    """Learnable parameters (weights, biases, BN gamma/beta, PReLU slopes; no running stats)."""
    arg_shapes, _, _ = sym.infer_shape(data=data_shape)
    return int(sum(np.prod(s) for n, s in zip(sym.list_arguments(), arg_shapes) if n != 'data'))


def model_stats(name, width=None, height=None, with_landmark=False, basenum=None):
    """(mflops in 2**20 units, params, (W, H)) of a registered network at an input size."""
    from . import get_symbol, network_info
    info = network_info(name)
    if width is None:
        # Pnets: the README's 320x240 for cell 20, scaled by cell/20 (Pnet16 -> 256x192).
        width, height = ((16 * info['size'], 12 * info['size']) if info['kind'] == 'pnet'
                         else (info['size'], info['size']))
    sym = get_symbol(name, 'test', with_landmark=with_landmark, basenum=basenum)
    shape = (1, 3, height, width)
    ops = count_ops(sym, shape, cls_only=info['kind'] == 'pnet')
    return ops / MEGA, count_params(sym, shape), (width, height)
