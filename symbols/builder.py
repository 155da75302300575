"""Build an MXNet symbol from a row of :data:`symbols.zoo.NETWORKS`."""
import mxnet as mx

from .layers import batchnorm, conv, conv_bn_prelu, fc, max_pool_full, prelu, softmax_channel
from .zoo import ONET_LANDMARK_TRUNK

# Head layer names per network kind: (conv/fc name prefix, uses 1x1 conv instead of FC).
_HEAD = {'pnet': ('4', True), 'rnet': ('5', False), 'onet': ('6', False), 'lnet': ('6', False)}


def _act_name(layer, sep_act):
    """Original PReLU naming: conv1->prelu1, conv2_dw->prelu2_dw, conv2_sep->prelu2[_sep]."""
    stem = layer[len('conv'):]
    if stem.endswith('_sep'):
        return 'prelu' + stem[:-len('_sep')] + sep_act
    return 'prelu' + stem


def _bn_name(layer):
    return 'bn' + layer[len('conv'):]


def build_trunk(data, trunk, bn=False, no_bias=False, sep_act='', scale=1.0, form=None):
    """Stack the rows of a trunk table; returns (symbol, channels).

    ``no_bias`` is a bool or ``'after_conv1'`` (the Onet-with-landmark trunk keeps conv1's bias).
    """
    x, ch = data, 3
    for i, row in enumerate(trunk):
        name = row[0]
        if name.startswith('pool'):
            x = max_pool_full(x, name, row[1], row[2])
            continue
        nb = (i > 0) if no_bias == 'after_conv1' else bool(no_bias)
        if name.endswith('_dw'):
            pad = row[3] if len(row) > 3 else 0
            x = conv(x, name, ch, row[1], row[2], pad, num_group=ch, no_bias=nb)
        elif name.endswith('_sep'):
            ch = int(round(row[1] * scale))
            x = conv(x, name, ch, 1, 1, 0, no_bias=nb)
        else:
            pad = row[4] if len(row) > 4 else 0
            ch = int(round(row[3] * scale))
            x = conv(x, name, ch, row[1], row[2], pad, no_bias=nb)
        if bn:
            x = batchnorm(x, _bn_name(name))
        x = prelu(x, _act_name(name, sep_act), ch, form)
    return x, ch


def _head(x, kind, index, num_out, fixed=False):
    stage, is_conv = _HEAD[kind]
    name = 'conv%s_%d' % (stage, index)
    y = conv(x, name, num_out, 1) if is_conv else fc(x, name, num_out)
    return batchnorm(y, 'bn%s_%d' % (stage, index), use_global_stats=fixed)


def landmark_head(kind, with_landmark=False):
    """(layer, BatchNorm) names of the landmark output of a ``kind`` net ('lnet', or 'onet' with its
    head), or None."""
    if kind == 'lnet' or (kind == 'onet' and with_landmark):
        stage = _HEAD[kind][0]
        return 'conv%s_3' % stage, 'bn%s_3' % stage
    return None


def _residual_trunk(data, cfg, form=None):
    """Residual L106 family."""
    d, size = cfg['d'], cfg['size']

    def dresidual(x, prefix, out, stride):
        x = conv_bn_prelu(x, prefix + '_conv_sep', out, 1, form=form)
        x = conv_bn_prelu(x, prefix + '_conv_dw', out, 3, stride, 1, num_group=out, form=form)
        return conv_bn_prelu(x, prefix + '_conv_proj', out, 1, act=False)

    def residual(x, prefix, n, ch):
        for i in range(n):
            x = dresidual(x, '%s_block%d' % (prefix, i), ch, 1) + x
        return x

    x = conv_bn_prelu(data, 'conv1', d, 3, 2, 1, form=form)
    b2, b3, b4, b5 = cfg['blocks']
    x = residual(x, 'res2', b2, d)
    x = dresidual(x, 'dconv23', 2 * d, 2)
    x = residual(x, 'res3', b3, 2 * d)
    x = dresidual(x, 'dconv34', 4 * d, 2)
    x = residual(x, 'res4', b4, 4 * d)
    x = dresidual(x, 'dconv45', 8 * d, 2)
    x = residual(x, 'res5', b5, 8 * d)
    x = conv_bn_prelu(x, 'conv6', 8 * d, size // 16, form=form)
    x = conv_bn_prelu(x, 'fc1', cfg['fc'][0] * d, 1, form=form)
    return conv_bn_prelu(x, 'fc2', cfg['fc'][1] * d, 1, form=form)


def build(spec, mode='test', with_landmark=False, basenum=None, fixed_head=False, train_prelu=None):
    """Build a network.

    ``mode='test'``: inference outputs — ``cls_prob`` (softmax over axis 1) and bbox for
    P/R/O nets, plus landmarks for Onet with ``with_landmark``; landmarks for L nets.
    ``mode='train'``: the raw heads (classification logits instead of probabilities,
    flattened to N×C) for the loss functions in ``core``, with the PReLUs in the form ``train_prelu``
    (:data:`symbols.layers.TRAIN_PRELU`; default: ``'fused'`` once its operator is loaded, else
    ``'decomposed'``).
    """
    if mode not in ('train', 'test'):
        raise ValueError("mode must be 'train' or 'test', got %r" % (mode,))
    form = None
    if mode == 'train':
        form = train_prelu or ('fused' if hasattr(mx.sym, 'mtcnn_prelu') else 'decomposed')
    data = mx.sym.Variable('data')
    kind = spec['kind']
    if 'residual' in spec:
        x = _residual_trunk(data, spec['residual'], form=form)
    else:
        trunk, bn, no_bias = spec['trunk'], spec['bn'], spec['no_bias']
        if kind == 'onet' and with_landmark:
            trunk, bn, no_bias = ONET_LANDMARK_TRUNK, True, 'after_conv1'
        scale = (basenum or spec['basenum']) / 32.0 if spec.get('basenum') else 1.0
        x, _ = build_trunk(data, trunk, bn=bn, no_bias=no_bias, sep_act=spec['sep_act'],
                           scale=scale, form=form)
    if kind == 'lnet':
        pts = _head(x, kind, 3, 2 * spec['n_points'], fixed_head)
        return mx.sym.Group([pts])
    cls = _head(x, kind, 1, 2)
    box = _head(x, kind, 2, 4)
    outs = [cls, box]
    if kind == 'onet' and with_landmark:
        outs.append(_head(x, kind, 3, 10, fixed_head))
    if mode == 'test':
        outs[0] = softmax_channel(cls, 'cls_prob')
    elif kind == 'pnet':
        outs = [mx.sym.reshape(cls, shape=(-1, 2)), mx.sym.reshape(box, shape=(-1, 4))]
    return mx.sym.Group(outs)
