"""Export an inference model to ZQCNN's ``.zqparams`` (text, one layer per line) + ``.nchwbin``
(raw little-endian float32 parameters in layer order), the C++ runtime the original deploys to.

Layers: one ``Input`` line with C/H/W, (Depthwise)Convolution, BatchNormScale (ZQCNN's eps is 0, so
MXNet's eps is folded into the variance), PReLU, Pooling, InnerProduct, Softmax, Eltwise; no loss,
label or Reshape layers; the Pnet probabilities on blob ``prob1`` and the other heads on ``conv4-2``
/ ``conv5-2`` / ``conv6-2`` / ``conv6-3`` as ZQCNN's MTCNN reads them; ``\\n`` line ends (a ``\\r``
breaks ZQCNN's flag parsing).

ZQCNN's MTCNN merges BatchNorm at load time and zeroes every |weight| < 1e-9; nets whose
activations grow large (the original's own Pnet reaches ~5e10) then lose whole layers and output a
constant. The exporter therefore rescales activations layer by layer (PReLU nets are positively
homogeneous): a convolution / inner product with input scale S_in and output scale S gets w·S_in/S
and b/S, a BatchNorm after it mean/S and (var+eps)/S², with S the largest |output| on calibration
images. Outputs are unchanged. :func:`verify` runs the written files with an independent numpy
reader (:mod:`core.export.zqcnn_format`) in both ZQCNN loading modes.
"""
import glob
import json
import os

import numpy as np

from config import config

from core.common.fileio import atomic_call, atomic_write
from . import zqcnn_format as zq
from core.common.errors import InputError

HEAD_NAMES = {'pnet': ['prob1', 'conv4-2'], 'rnet': ['prob1', 'conv5-2'],
              'onet': ['prob1', 'conv6-2', 'conv6-3'], 'lnet': ['conv6-3']}


CALIBRATION_SEED = 0  # the random images that calibrate and check an export


def calibration_batch(model, images=None, n=32, seed=CALIBRATION_SEED):
    """Calibration inputs: crops/resizes of real images when available, else uniform noise."""
    import cv2
    from core.common.image import to_tensor
    size = model.info['size']
    rng = np.random.RandomState(seed)
    if images is None:
        images = sorted(glob.glob(os.path.join(config.shared, 'images', '*.jpg')))
    imgs = [im for im in (cv2.imread(p) for p in images) if im is not None]
    if not imgs:
        shape = (1, 3, 120, 160) if model.info['kind'] == 'pnet' else (n, 3, size, size)
        return [rng.uniform(-1, 1, shape).astype(np.float32)]
    if model.info['kind'] == 'pnet':
        return [to_tensor(cv2.resize(im, (max(size, im.shape[1] // k), max(size, im.shape[0] // k))))
                for im in imgs[:3] for k in (1, 3)]
    crops = []
    for i in range(n):
        im = imgs[i % len(imgs)]
        h, w = im.shape[:2]
        side = rng.randint(min(h, w) // 4, min(h, w) + 1)
        y, x = rng.randint(0, h - side + 1), rng.randint(0, w - side + 1)
        crops.append(cv2.resize(im[y:y + side, x:x + side], (size, size)))
    return [to_tensor(crops)]


def activation_maxima(model, batches):
    """max |output| of every Convolution / FullyConnected node over the calibration batches."""
    import mxnet as mx
    from core.runtime.model_io import InferenceModel
    graph = json.loads(model.sym.tojson())
    names = [n['name'] for n in graph['nodes'] if n['op'] in ('Convolution', 'FullyConnected')]
    internals = model.sym.get_internals()
    runner = InferenceModel(mx.sym.Group([internals[n + '_output'] for n in names]), model.arg, model.aux)
    out = {n: 0.0 for n in names}
    for batch in batches:
        for n, v in zip(names, runner(batch)):
            out[n] = max(out[n], float(np.abs(v).max()))
    return out


def _ints(text, default):
    return [int(v) for v in (text or default).strip('()').split(',')]


def _flag(attrs, key, default='False'):
    return attrs.get(key, default) in ('True', 'true', '1')


class _Writer:
    """Walks an MXNet inference graph node by node, emitting ZQCNN layer lines and parameters while
    tracking each blob's name and activation scale."""

    def __init__(self, model, maxima, rescale):
        graph = json.loads(model.sym.tojson())
        self.nodes, self.rescale, self.maxima = graph['nodes'], rescale, maxima
        self.arg = {k: v.asnumpy().astype(np.float64) for k, v in model.arg.items()}
        self.arg.update({k: v.asnumpy().astype(np.float64) for k, v in model.aux.items()})
        self.consumers = {}
        for i, n in enumerate(self.nodes):
            for inp in n['inputs']:
                self.consumers.setdefault(inp[0], []).append(i)
        self.heads = [h[0] for h in graph['heads']]
        self.head_names = dict(zip(self.heads, HEAD_NAMES[model.info['kind']]))
        self.size = model.info['size']
        self.blob, self.scale, self.lines, self.chunks, self.report = {}, {}, [], [], {}

    def param(self, i, k):
        return self.arg[self.nodes[self.nodes[i]['inputs'][k][0]]['name']]

    def run(self):
        for i, n in enumerate(self.nodes):
            if n['op'] == 'null':
                if n['name'] == 'data':
                    self.lines.append('Input name=data C=3 H=%d W=%d' % (self.size, self.size))
                    self.blob[i], self.scale[i] = 'data', 1.0
                continue
            handler = self.HANDLERS.get(n['op'])
            if handler is None:
                raise InputError('%s: operator %s has no ZQCNN equivalent' % (n['name'], n['op']))
            src = n['inputs'][0][0]
            top = self.blob[src] if n['op'] == 'Flatten' else self.head_names.get(i, n['name'])
            self.blob[i], self.scale[i] = top, handler(self, i, n, n.get('attrs', {}), self.blob[src],
                                                       self.scale[src], top)
        for h in self.heads:
            if self.scale[h] != 1.0:
                raise InputError('output %s ended with scale %g' % (self.nodes[h]['name'], self.scale[h]))
        return self

    def linear(self, i, n, attrs, bottom, s_in, top):
        users = [self.nodes[j]['op'] for j in self.consumers.get(i, [])]
        fixed = i in self.heads or 'softmax' in users or not self.rescale
        s_out = 1.0 if fixed else (self.maxima.get(n['name']) or 1.0)
        has_bias = not _flag(attrs, 'no_bias')
        if n['op'] == 'Convolution':
            self.lines.append(self._conv_line(i, n, attrs, bottom, top, has_bias))
        else:
            self.lines.append('InnerProduct name=%s bottom=%s top=%s num_output=%d%s'
                              % (n['name'], bottom, top, int(attrs['num_hidden']), ' bias' if has_bias else ''))
        self.chunks.append((self.param(i, 1) * s_in / s_out).reshape(-1))
        if has_bias:
            self.chunks.append(self.param(i, 2) / s_out)
        self.report[n['name']] = s_out
        return s_out

    def _conv_line(self, i, n, attrs, bottom, top, has_bias):
        k, st, pd = _ints(attrs['kernel'], ''), _ints(attrs.get('stride'), '(1, 1)'), _ints(attrs.get('pad'), '(0, 0)')
        groups, c_out = int(attrs.get('num_group', 1)), int(attrs['num_filter'])
        if groups == 1:
            kind = 'Convolution'
        elif groups == c_out and self.param(i, 1).shape[1] == 1:
            kind = 'DepthwiseConvolution'
        else:
            raise InputError('%s: grouped convolution is not supported by ZQCNN' % n['name'])
        return ('%s name=%s bottom=%s top=%s num_output=%d kernel_H=%d kernel_W=%d stride_H=%d stride_W=%d '
                'pad_H=%d pad_W=%d%s' % (kind, n['name'], bottom, top, c_out, k[0], k[1], st[0], st[1], pd[0], pd[1],
                                         ' bias' if has_bias else ''))

    def batchnorm(self, i, n, attrs, bottom, s_in, top):
        eps = float(attrs.get('eps', 1e-3))
        gamma = np.ones_like(self.param(i, 1)) if _flag(attrs, 'fix_gamma', 'True') else self.param(i, 1)
        self.lines.append('BatchNormScale name=%s bottom=%s top=%s bias' % (n['name'], bottom, top))
        self.chunks += [self.param(i, 3) / s_in, (self.param(i, 4) + eps) / s_in ** 2, gamma, self.param(i, 2)]
        return 1.0

    def prelu(self, i, n, attrs, bottom, s_in, top):
        if attrs.get('act_type') != 'prelu':
            raise InputError('%s: only PReLU activations are exported' % n['name'])
        self.lines.append('PReLU name=%s bottom=%s top=%s' % (n['name'], bottom, top))
        self.chunks.append(self.param(i, 1))
        return s_in

    def pooling(self, i, n, attrs, bottom, s_in, top):
        if attrs.get('pool_type') != 'max':
            raise InputError('%s: only max pooling is exported' % n['name'])
        self.lines.append('Pooling name=%s bottom=%s top=%s pool=MAX kernel_size=%d stride=%d'
                          % (n['name'], bottom, top, _ints(attrs['kernel'], '')[0], _ints(attrs.get('stride'), '(1, 1)')[0]))
        return s_in

    def flatten(self, i, n, attrs, bottom, s_in, top):
        return s_in  # InnerProduct flattens by itself: the blob keeps its producer's name

    def softmax(self, i, n, attrs, bottom, s_in, top):
        if s_in != 1.0:
            raise InputError('%s: softmax input must be unscaled' % n['name'])
        self.lines.append('Softmax name=%s bottom=%s top=%s axis=1' % (n['name'], bottom, top))
        return 1.0

    def add(self, i, n, attrs, bottom, s_in, top):
        other = n['inputs'][1][0]
        if self.scale[other] != s_in:
            raise InputError('%s: residual inputs have different scales' % n['name'])
        self.lines.append('Eltwise operation=sum name=%s bottom=%s bottom=%s top=%s'
                          % (n['name'], bottom, self.blob[other], top))
        return s_in

    HANDLERS = {'Convolution': linear, 'FullyConnected': linear, 'BatchNorm': batchnorm, 'LeakyReLU': prelu,
                'Pooling': pooling, 'Flatten': flatten, 'softmax': softmax, 'elemwise_add': add, '_Plus': add,
                '_plus': add}


def export_zqcnn(model, out_prefix, rescale=True, calib_images=None):
    """Write ``out_prefix.zqparams`` / ``.nchwbin``; returns {layer: scale} (1.0 when unscaled)."""
    maxima = activation_maxima(model, calibration_batch(model, calib_images)) if rescale else {}
    w = _Writer(model, maxima, rescale).run()
    with atomic_write(out_prefix + '.zqparams', newline='\n') as f:
        f.write('\n'.join(w.lines) + '\n')
    atomic_call(out_prefix + '.nchwbin', lambda p: np.concatenate(w.chunks).astype('<f4').tofile(p))
    return w.report


def verify(model, out_prefix, seed=CALIBRATION_SEED):
    """Max abs difference MXNet vs the numpy reader, per loading mode (``plain``, ``mtcnn``)."""
    size = model.info['size']
    shape = (1, 3, 60, 80) if model.info['kind'] == 'pnet' else (4, 3, size, size)
    x = np.random.RandomState(seed).uniform(-1, 1, shape).astype(np.float32)
    ref = model(x)
    names = HEAD_NAMES[model.info['kind']]
    result = {}
    for mode in ('plain', 'mtcnn'):
        blobs = zq.forward(zq.read_network(out_prefix + '.zqparams', out_prefix + '.nchwbin', shape, mode), x)
        result[mode] = max(float(np.abs(blobs[nm].reshape(r.shape) - r).max()) for nm, r in zip(names, ref))
    return result
