"""Fold every BatchNorm into the convolution / depthwise convolution / fully-connected layer
before it (eps 1e-3), giving an inference graph with identical outputs and fewer layers.

    python tools/merge_bn.py --prefix model/onet --epoch 16 --out model/onet_merged
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import symbols  # noqa: E402,F401  (sets the MXNet environment)
import mxnet as mx  # noqa: E402

FOLDABLE = ('Convolution', 'FullyConnected')


def merge_bn(sym, arg, aux):
    """Return (sym, arg, aux) with BatchNorms folded into their producers.

    A BatchNorm is folded when its input is a Convolution/FullyConnected used by nothing else.
    """
    graph = json.loads(sym.tojson())
    nodes = graph['nodes']
    arg = {k: v.asnumpy() if hasattr(v, 'asnumpy') else np.asarray(v) for k, v in arg.items()}
    aux = {k: v.asnumpy() if hasattr(v, 'asnumpy') else np.asarray(v) for k, v in aux.items()}
    users = {}
    for i, n in enumerate(nodes):
        for inp in n['inputs']:
            users.setdefault(inp[0], []).append(i)
    replace = {}  # BN node index -> producer node index
    new_nodes = []  # appended bias variables: (producer index, node)
    for i, n in enumerate(nodes):
        if n['op'] != 'BatchNorm':
            continue
        src = n['inputs'][0][0]
        prod = nodes[src]
        if prod['op'] not in FOLDABLE or len(users.get(src, [])) != 1:
            continue
        attrs = n.get('attrs', {})
        eps = float(attrs.get('eps', 1e-3))
        names = [nodes[j[0]]['name'] for j in n['inputs'][1:5]]
        gamma, beta = arg[names[0]], arg[names[1]]
        mean, var = aux[names[2]], aux[names[3]]
        if attrs.get('fix_gamma', 'True') in ('True', 'true', '1'):
            gamma = np.ones_like(gamma)
        scale = gamma / np.sqrt(var + eps)
        w_name = nodes[prod['inputs'][1][0]]['name']
        w = arg[w_name]
        arg[w_name] = (w * scale.reshape((-1,) + (1,) * (w.ndim - 1))).astype(np.float32)
        pattrs = prod.setdefault('attrs', {})
        if pattrs.get('no_bias', 'False') in ('True', 'true', '1'):
            b_name = prod['name'] + '_bias'
            bias = np.zeros(w.shape[0], np.float32)
            pattrs['no_bias'] = 'False'
            new_nodes.append((src, {'op': 'null', 'name': b_name, 'inputs': []}))
        else:
            b_name = nodes[prod['inputs'][2][0]]['name']
            bias = arg[b_name]
        arg[b_name] = ((bias - mean) * scale + beta).astype(np.float32)
        for k in names[:2]:
            arg.pop(k, None)
        for k in names[2:]:
            aux.pop(k, None)
        replace[i] = src
    # rebuild the node list: drop folded BNs (and their parameter variables), add new biases
    drop = set(replace)
    for i in replace:
        drop.update(j[0] for j in nodes[i]['inputs'][1:])
    order, index = [], {}
    pending = {}
    for src, bnode in new_nodes:
        pending.setdefault(src, []).append(bnode)
    for i, n in enumerate(nodes):
        if i in drop:
            continue
        if i in pending:  # bias variables must precede their consumer
            for bnode in pending[i]:
                index[('bias', bnode['name'])] = len(order)
                order.append(bnode)
        index[i] = len(order)
        order.append(n)

    def resolve(j):
        while j in replace:
            j = replace[j]
        return j

    out_nodes = []
    for n in order:
        n = dict(n)
        ins = [[index[resolve(j[0])], j[1], 0] for j in n['inputs']]
        if n['op'] in FOLDABLE and len(ins) == 2 and n.get('attrs', {}).get('no_bias') == 'False':
            ins.append([index[('bias', n['name'] + '_bias')], 0, 0])
        n['inputs'] = ins
        out_nodes.append(n)
    heads = [[index[resolve(h[0])], h[1], 0] for h in graph['heads']]
    new = {'nodes': out_nodes, 'arg_nodes': [i for i, n in enumerate(out_nodes) if n['op'] == 'null'],
           'heads': heads, 'attrs': graph.get('attrs', {})}
    new['node_row_ptr'] = list(range(len(out_nodes) + 1))
    merged = mx.sym.load_json(json.dumps(new))
    need = set(merged.list_arguments()) - {'data'}
    arg = {k: mx.nd.array(v) for k, v in arg.items() if k in need}
    aux = {k: mx.nd.array(v) for k, v in aux.items() if k in set(merged.list_auxiliary_states())}
    return merged, arg, aux


def count_layers(sym, op=None):
    graph = json.loads(sym.tojson())
    return sum(1 for n in graph['nodes'] if n['op'] != 'null' and (op is None or n['op'] == op))


def main(argv=None):
    from tools.common import add_checkpoint_args
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_checkpoint_args(ap)
    ap.add_argument('--out', required=True, help='output prefix (writes -symbol.json and -%%04d.params)')
    args = ap.parse_args(argv)
    from core.model_io import InferenceModel, save_checkpoint
    from symbols.flops import count_ops, MEGA
    from tools.common import load_checkpoint
    model = load_checkpoint(args)
    if model is None:
        return 2
    sym, arg, aux = merge_bn(model.sym, model.arg, model.aux)
    info = model.info
    size = info['size']
    shape = (1, 3, 240, 320) if info['kind'] == 'pnet' else (4, 3, size, size)
    x = np.random.RandomState(0).uniform(-1, 1, shape).astype(np.float32)
    diff = max(float(np.abs(a - b).max()) for a, b in zip(model(x), InferenceModel(sym, arg, aux)(x)))
    save_checkpoint(args.out, args.epoch, sym, arg, aux, network=model.network,
                    with_landmark=model.with_landmark, basenum=model.basenum, custom_graph=True)
    cls_only = info['kind'] == 'pnet'
    print('%s: %d -> %d layers (%d BatchNorm folded), max abs diff %.2e, %.2f M (README rule)'
          % (model.network, count_layers(model.sym), count_layers(sym),
             count_layers(model.sym, 'BatchNorm') - count_layers(sym, 'BatchNorm'), diff,
             count_ops(sym, (1, 3, 240, 320) if cls_only else (1, 3, size, size), cls_only) / MEGA))
    print('wrote %s-symbol.json, %s-%04d.params' % (args.out, args.out, args.epoch))
    return 0


if __name__ == '__main__':
    sys.exit(main())
