"""A small, independent reader of ZQCNN ``.zqparams`` + ``.nchwbin`` files that runs the network
in numpy, in ZQCNN's two loading modes:

* ``plain``: parameters as written;
* ``mtcnn``: as ZQCNN's MTCNN loads them — every raw value with |v| < 1e-9 set to 0, BatchNormScale
  merged into the preceding (depthwise) convolution / inner product, merged weights thresholded at
  1e-9 again.

It shares no code with the exporter, so it checks the written files, not the exporter's intent.
"""
import numpy as np
from core.common.fileio import FormatError

SMALL = 1e-9


def _tokens(line):
    parts = line.split()
    kind, kv, flags = parts[0].lower(), {}, set()
    for tok in parts[1:]:
        for sep in ('=', ':'):
            if sep in tok:
                k, v = tok.split(sep, 1)
                kv.setdefault(k.lower(), []).append(v)
                break
        else:
            flags.add(tok.lower())
    return kind, kv, flags


KNOWN = {'input', 'convolution', 'depthwiseconvolution', 'prelu', 'batchnorm', 'batchnormscale',
         'scale', 'pooling', 'innerproduct', 'softmax', 'eltwise', 'relu'}


def parse(param_path):
    """Layer specs of a .zqparams file (no parameters yet)."""
    with open(param_path, 'rb') as f:
        raw = f.read()
    if b'\r' in raw:
        raise FormatError('%s: contains \\r (CRLF line endings break ZQCNN)' % param_path)
    layers = []
    for ln, line in enumerate(raw.decode().split('\n'), 1):
        if not line.strip():
            continue
        kind, kv, flags = _tokens(line)
        if kind not in KNOWN:
            continue  # ZQCNN skips lines with an unknown first token (comments)
        layers.append(dict(kind=kind, kv={k: v[0] for k, v in kv.items()},
                           bottom=kv.get('bottom', []), top=kv.get('top', kv.get('name'))[0],
                           name=kv.get('name', [''])[0], flags=flags, line=ln))
    if not layers or layers[0]['kind'] != 'input' or sum(l['kind'] == 'input' for l in layers) != 1:
        raise FormatError('%s: the first layer must be the only Input layer' % param_path)
    return layers


def bind(layers, bin_path, input_shape):
    """Read each layer's parameters from the .nchwbin, in order, tracking blob shapes."""
    weights = np.fromfile(bin_path, dtype='<f4').astype(np.float64)
    pos, shapes, out = 0, {}, []

    def take(n, layer):
        nonlocal pos
        if pos + n > len(weights):
            raise FormatError('%s: ran out of weights at .zqparams line %d' % (bin_path, layer['line']))
        v = weights[pos:pos + n]
        pos += n
        return v

    for layer in layers:
        layer = dict(layer)
        kv, kind = layer['kv'], layer['kind']
        get = lambda k, d=None: kv.get(k, d)  # noqa: E731
        if kind == 'input':
            if int(get('c')) != input_shape[1]:
                raise FormatError('Input C=%s but data has %d channels' % (get('c'), input_shape[1]))
            shapes[layer['top']] = tuple(input_shape[1:])
            out.append(layer)
            continue
        shp = shapes[layer['bottom'][0]]
        c = shp[0]
        if kind in ('convolution', 'depthwiseconvolution'):
            kh = int(get('kernel_h', get('kernel_size')))
            kw = int(get('kernel_w', get('kernel_size')))
            st = (int(get('stride_h', get('stride', 1))), int(get('stride_w', get('stride', 1))))
            pd = (int(get('pad_h', get('pad', 0))), int(get('pad_w', get('pad', 0))))
            o = int(get('num_output'))
            if kind == 'convolution':
                layer['w'] = take(o * c * kh * kw, layer).reshape(o, c, kh, kw)
            else:
                o = c
                layer['w'] = take(c * kh * kw, layer).reshape(c, 1, kh, kw)
            layer['b'] = take(o, layer) if 'bias' in layer['flags'] else np.zeros(o)
            layer['stride'], layer['pad'] = st, pd
            shapes[layer['top']] = (o, (shp[1] + 2 * pd[0] - kh) // st[0] + 1,
                                    (shp[2] + 2 * pd[1] - kw) // st[1] + 1)
        elif kind == 'innerproduct':
            o, cin = int(get('num_output')), int(np.prod(shp))
            layer['w'] = take(o * cin, layer).reshape(o, cin)
            layer['b'] = take(o, layer) if 'bias' in layer['flags'] else np.zeros(o)
            shapes[layer['top']] = (o,)
        elif kind == 'prelu':
            layer['slope'] = take(c, layer)
            shapes[layer['top']] = shp
        elif kind in ('batchnorm', 'batchnormscale'):
            layer['eps'] = float(get('eps', 0))
            layer['mean'], layer['var'] = take(c, layer), take(c, layer)
            if kind == 'batchnormscale':
                layer['gamma'] = take(c, layer)
                layer['beta'] = take(c, layer) if 'bias' in layer['flags'] else np.zeros(c)
            shapes[layer['top']] = shp
        elif kind == 'pooling':
            k, s = int(get('kernel_size')), int(get('stride', 1))
            layer['k'], layer['s'] = k, s
            shapes[layer['top']] = (c, -(-(shp[1] - k) // s) + 1, -(-(shp[2] - k) // s) + 1)
        else:
            shapes[layer['top']] = shp
        out.append(layer)
    return out, pos, len(weights)


def _conv(x, w, b, stride, pad, groups):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    x = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    oh = (x.shape[2] - kh) // stride[0] + 1
    ow = (x.shape[3] - kw) // stride[1] + 1
    sn, sc, sh, sw = x.strides
    cols = np.lib.stride_tricks.as_strided(
        x, (n, c, oh, ow, kh, kw), (sn, sc, sh * stride[0], sw * stride[1], sh, sw))
    if groups == 1:
        y = np.einsum('nchwij,ocij->nohw', cols, w, optimize=True)
    else:
        y = np.einsum('nchwij,cij->nchw', cols, w[:, 0], optimize=True)
    return y + b[None, :, None, None]


def _maxpool_ceil(x, k, s):
    n, c, h, w = x.shape
    oh = -(-(h - k) // s) + 1
    ow = -(-(w - k) // s) + 1
    ph, pw = (oh - 1) * s + k - h, (ow - 1) * s + k - w
    x = np.pad(x, ((0, 0), (0, 0), (0, max(ph, 0)), (0, max(pw, 0))), constant_values=-np.inf)
    sn, sc, sh, sw = x.strides
    win = np.lib.stride_tricks.as_strided(x, (n, c, oh, ow, k, k), (sn, sc, sh * s, sw * s, sh, sw))
    return win.max(axis=(4, 5))


def prepare(layers, mode='plain'):
    """Apply ZQCNN's loading mode to the parsed layers (returns a new list)."""
    out = []
    for layer in layers:
        layer = dict(layer)
        if mode == 'mtcnn':
            for key in ('w', 'b', 'slope', 'mean', 'var', 'gamma', 'beta'):
                if key in layer:
                    layer[key] = np.where(np.abs(layer[key]) < SMALL, 0.0, layer[key])
        out.append(layer)
    if mode != 'mtcnn':
        return out
    merged, i = [], 0
    while i < len(out):
        layer = out[i]
        nxt = out[i + 1] if i + 1 < len(out) else None
        if (layer['kind'] in ('convolution', 'depthwiseconvolution', 'innerproduct') and nxt is not None
                and nxt['kind'] in ('batchnorm', 'batchnormscale') and nxt['bottom'][0] == layer['top']):
            gamma = nxt.get('gamma', np.ones_like(nxt['mean']))
            beta = nxt.get('beta', np.zeros_like(nxt['mean']))
            scale = gamma / np.sqrt(nxt['var'] + nxt['eps'])
            layer = dict(layer, top=nxt['top'], merged_scale=scale, merged_shift=beta - nxt['mean'] * scale)
            i += 1
        merged.append(layer)
        i += 1
    return merged


def forward(layers, data):
    """Run the network on N×3×H×W ``data``; returns {blob name: array}."""
    blobs = {}
    for layer in layers:
        kind = layer['kind']
        if kind == 'input':
            blobs[layer['top']] = np.asarray(data, np.float64)
            continue
        x = blobs[layer['bottom'][0]]
        if kind in ('convolution', 'depthwiseconvolution'):
            w, b = layer['w'], layer['b']
            if 'merged_scale' in layer:
                s = layer['merged_scale']
                w = w * s[:, None, None, None]
                b = b * s + layer['merged_shift']
                w = np.where(np.abs(w) < SMALL, 0.0, w)
                b = np.where(np.abs(b) < SMALL, 0.0, b)
            groups = w.shape[0] if kind == 'depthwiseconvolution' else 1
            y = _conv(x, w, b, layer['stride'], layer['pad'], groups)
        elif kind == 'innerproduct':
            flat = x.reshape(x.shape[0], -1)
            w, b = layer['w'], layer['b']
            if 'merged_scale' in layer:
                s = layer['merged_scale']
                w = w * s[:, None]
                b = b * s + layer['merged_shift']
                w = np.where(np.abs(w) < SMALL, 0.0, w)
                b = np.where(np.abs(b) < SMALL, 0.0, b)
            y = flat @ w.T + b
        elif kind == 'prelu':
            sl = layer['slope'].reshape((1, -1) + (1,) * (x.ndim - 2))
            y = np.where(x > 0, x, x * sl)
        elif kind in ('batchnorm', 'batchnormscale'):
            shp = (1, -1) + (1,) * (x.ndim - 2)
            y = (x - layer['mean'].reshape(shp)) / np.sqrt(layer['var'].reshape(shp) + layer['eps'])
            if kind == 'batchnormscale':
                y = y * layer['gamma'].reshape(shp) + layer['beta'].reshape(shp)
        elif kind == 'pooling':
            y = _maxpool_ceil(x, layer['k'], layer['s'])
        elif kind == 'softmax':
            e = np.exp(x - x.max(axis=1, keepdims=True))
            y = e / e.sum(axis=1, keepdims=True)
        elif kind == 'eltwise':
            y = sum(blobs[b] for b in layer['bottom'])
        elif kind == 'relu':
            y = np.maximum(x, 0)
        else:
            raise FormatError('unsupported layer %s' % kind)
        blobs[layer['top']] = y
    return blobs


def read_network(param_path, bin_path, input_shape, mode='plain'):
    """Parse and bind both files for ``input_shape`` and apply a loading ``mode``."""
    layers, used, total = bind(parse(param_path), bin_path, input_shape)
    if used != total:
        raise FormatError('%s: %d weights read but the file holds %d' % (bin_path, used, total))
    return prepare(layers, mode)
