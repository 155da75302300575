"""Layer helpers shared by every network builder.

All helpers take and return ``mx.sym.Symbol`` and use the original project's
layer names (``conv2_dw`` -> ``prelu2_dw``, ``bn2_dw``) so that its ``.params``
files load by name.
"""
import mxnet as mx

BN_MOMENTUM = 0.9
BN_EPS = 1e-3  # MXNet's default, also used by the original and by merge_bn


def batchnorm(data, name, use_global_stats=False):
    """BatchNorm as in the original: learnable gamma, momentum 0.9, eps 1e-3 (``use_global_stats``:
    the stored statistics in training too)."""
    extra = {'use_global_stats': True} if use_global_stats else {}  # default graphs keep their exact JSON
    return mx.sym.BatchNorm(data=data, name=name, fix_gamma=False, momentum=BN_MOMENTUM, eps=BN_EPS, **extra)


TRAIN_PRELU = ('fused', 'decomposed')


def prelu(data, name, channels=None, form=None):
    """Per-channel PReLU with slope parameter ``<name>_gamma``.

    ``form=None``: ``LeakyReLU(prelu)``, what inference graphs, the exporters and the original use. Training
    graphs compute the same function another way, because MXNet 1.9's CPU ``LeakyReLU(prelu)`` backward is
    ~10x slower than the whole rest of a Pnet step and oneDNN has no per-channel PReLU:

    - ``'fused'``: the one-pass CPU extension operator ``mtcnn_prelu`` (``core.train.fused_ops``);
    - ``'decomposed'``: ``x + (γ − 1)·min(x, 0)``, three elementwise passes each way (any device).
    """
    if form is None:
        return mx.sym.LeakyReLU(data=data, act_type='prelu', name=name)
    if form not in TRAIN_PRELU:
        raise ValueError('PReLU form must be one of %s, got %r' % (', '.join(TRAIN_PRELU), form))
    gamma = mx.sym.Variable(name + '_gamma', shape=(channels,))
    if form == 'fused':
        # an extension operator always overwrites its outputs, so γ's gradient reaches it through an identity,
        # whose backward adds where γ accumulates (micro-batches: grad_req 'add')
        return mx.sym.mtcnn_prelu(data, mx.sym.identity(gamma, name=name + '_gamma_in'), name=name)
    # (γ − 1)·min(x, 0) as a 1×1 depthwise convolution: its weight gradient is a fast GEMM
    # reduction, where broadcast_mul's backward reduction is as slow as LeakyReLU's.
    slope = mx.sym.reshape(gamma - 1.0, shape=(-1, 1, 1, 1))
    scaled = mx.sym.Convolution(data=mx.sym.minimum(data, 0.0), weight=slope, num_filter=channels,
                                num_group=channels, kernel=(1, 1), no_bias=True, name=name + '_neg')
    return mx.sym.elemwise_add(data, scaled, name=name)


def conv(data, name, num_filter, kernel, stride=1, pad=0, num_group=1, no_bias=False):
    """2-D convolution with square kernel/stride/pad given as ints."""
    return mx.sym.Convolution(data=data, name=name, num_filter=num_filter,
                              kernel=(kernel, kernel), stride=(stride, stride),
                              pad=(pad, pad), num_group=num_group, no_bias=no_bias)


def fc(data, name, num_hidden):
    """FullyConnected on the flattened input (explicit Flatten keeps ONNX export shape-safe)."""
    flat = mx.sym.flatten(data=data, name=name + '_flatten')
    return mx.sym.FullyConnected(data=flat, name=name, num_hidden=num_hidden)


def max_pool_full(data, name, kernel, stride):
    """Max pooling with the 'full' (ceil) output-size convention."""
    return mx.sym.Pooling(data=data, name=name, pool_type='max', kernel=(kernel, kernel),
                          stride=(stride, stride), pooling_convention='full')


def softmax_channel(data, name='cls_prob'):
    """Softmax over axis 1; replaces ``SoftmaxActivation(mode='channel')``,
    which fails on 2-D input in MXNet 1.9.1."""
    return mx.sym.softmax(data=data, axis=1, name=name)


def conv_bn_prelu(data, prefix, num_filter, kernel, stride=1, pad=0, num_group=1, act=True, form=None):
    """Residual-family unit: conv (no bias) + BN [+ PReLU], named ``<prefix>_conv2d`` etc."""
    x = conv(data, prefix + '_conv2d', num_filter, kernel, stride, pad, num_group, no_bias=True)
    x = batchnorm(x, prefix + '_batchnorm')
    return prelu(x, prefix + '_relu', num_filter, form) if act else x
