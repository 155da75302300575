"""Fold every BatchNorm into the convolution / depthwise convolution / fully-connected layer before
it (MXNet's eps 1e-3), giving an inference graph with identical outputs and fewer layers — the
"after merging BN" form the FLOP table counts and ZQCNN runs."""
import json

import numpy as np

import symbols  # noqa: F401  (sets the MXNet environment first)
import mxnet as mx

FOLDABLE = ('Convolution', 'FullyConnected')


def _true(attrs, key, default):
    return attrs.get(key, default) in ('True', 'true', '1')


def _fold(nodes, i, src, arg, aux, new_biases):
    """Fold BatchNorm node ``i`` into its producer ``src`` (parameters updated in place)."""
    bn, prod = nodes[i], nodes[src]
    attrs = bn.get('attrs', {})
    names = [nodes[j[0]]['name'] for j in bn['inputs'][1:5]]
    gamma = np.ones_like(arg[names[0]]) if _true(attrs, 'fix_gamma', 'True') else arg[names[0]]
    scale = gamma / np.sqrt(aux[names[3]] + float(attrs.get('eps', 1e-3)))
    w_name = nodes[prod['inputs'][1][0]]['name']
    w = arg[w_name]
    arg[w_name] = (w * scale.reshape((-1,) + (1,) * (w.ndim - 1))).astype(np.float32)
    pattrs = prod.setdefault('attrs', {})
    if _true(pattrs, 'no_bias', 'False'):
        b_name, bias = prod['name'] + '_bias', np.zeros(w.shape[0], np.float32)
        pattrs['no_bias'] = 'False'
        new_biases.setdefault(src, []).append({'op': 'null', 'name': b_name, 'inputs': []})
    else:
        b_name = nodes[prod['inputs'][2][0]]['name']
        bias = arg[b_name]
    arg[b_name] = ((bias - aux[names[2]]) * scale + arg[names[1]]).astype(np.float32)
    for k in names[:2]:
        arg.pop(k, None)
    for k in names[2:]:
        aux.pop(k, None)


def _foldable(nodes):
    """{BatchNorm index: producer index} for BatchNorms whose producer feeds nothing else."""
    users = {}
    for i, n in enumerate(nodes):
        for inp in n['inputs']:
            users.setdefault(inp[0], []).append(i)
    out = {}
    for i, n in enumerate(nodes):
        if n['op'] == 'BatchNorm':
            src = n['inputs'][0][0]
            if nodes[src]['op'] in FOLDABLE and len(users.get(src, [])) == 1:
                out[i] = src
    return out


def _rebuild(graph, replace, new_biases):
    """The node list without the folded BatchNorms (and their parameters), with new bias variables."""
    nodes = graph['nodes']
    drop = set(replace)
    for i in replace:
        drop.update(j[0] for j in nodes[i]['inputs'][1:])
    order, index = [], {}
    for i, n in enumerate(nodes):
        if i in drop:
            continue
        for bnode in new_biases.get(i, []):  # bias variables must precede their consumer
            index[('bias', bnode['name'])] = len(order)
            order.append(bnode)
        index[i] = len(order)
        order.append(n)

    def resolve(j):
        while j in replace:
            j = replace[j]
        return index[j]

    out = []
    for n in order:
        n = dict(n, inputs=[[resolve(j[0]), j[1], 0] for j in n['inputs']])
        if n['op'] in FOLDABLE and len(n['inputs']) == 2 and n.get('attrs', {}).get('no_bias') == 'False':
            n['inputs'].append([index[('bias', n['name'] + '_bias')], 0, 0])
        out.append(n)
    return {'nodes': out, 'arg_nodes': [i for i, n in enumerate(out) if n['op'] == 'null'],
            'heads': [[resolve(h[0]), h[1], 0] for h in graph['heads']], 'attrs': graph.get('attrs', {}),
            'node_row_ptr': list(range(len(out) + 1))}


def merge_bn(sym, arg, aux):
    """(sym, arg, aux) with BatchNorms folded into their producers; a BatchNorm is folded when its
    input is a Convolution/FullyConnected used by nothing else."""
    graph = json.loads(sym.tojson())
    arg = {k: v.asnumpy() if hasattr(v, 'asnumpy') else np.asarray(v) for k, v in arg.items()}
    aux = {k: v.asnumpy() if hasattr(v, 'asnumpy') else np.asarray(v) for k, v in aux.items()}
    replace, new_biases = _foldable(graph['nodes']), {}
    for i, src in replace.items():
        _fold(graph['nodes'], i, src, arg, aux, new_biases)
    merged = mx.sym.load_json(json.dumps(_rebuild(graph, replace, new_biases)))
    need, need_aux = set(merged.list_arguments()) - {'data'}, set(merged.list_auxiliary_states())
    return (merged, {k: mx.nd.array(v) for k, v in arg.items() if k in need},
            {k: mx.nd.array(v) for k, v in aux.items() if k in need_aux})


def count_layers(sym, op=None):
    graph = json.loads(sym.tojson())
    return sum(1 for n in graph['nodes'] if n['op'] != 'null' and (op is None or n['op'] == op))
