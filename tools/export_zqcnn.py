"""Export a checkpoint to ZQCNN's ``.zqparams`` + ``.nchwbin`` (no hand edits needed).

    python tools/export_zqcnn.py --prefix ../shared/models/train-mtcnn/pnet20_v1 --epoch 16 \
        --out runs/zqcnn/det1

Follows ../shared/docs/zqcnn-format.md: one Input line with C/H/W, (Depthwise)Convolution,
BatchNormScale with MXNet's eps folded into the variance, PReLU, Pooling, InnerProduct, Softmax,
Eltwise; no loss, label or Reshape layers; Pnet probabilities on blob ``prob1`` and the other heads
on ``conv4-2`` / ``conv5-2`` / ``conv6-2`` / ``conv6-3`` as ZQCNN's MTCNN reads them; ``\\n`` line ends.

ZQCNN's MTCNN merges BatchNorm at load time and zeroes every |weight| < 1e-9; nets whose
activations grow large (the original's own Pnet reaches ~5e10) then lose whole layers. The
exporter therefore rescales activations layer by layer (PReLU nets are positively homogeneous):
a convolution/inner product with input scale S_in and output scale S gets w·S_in/S and b/S, a
BatchNorm after it mean/S and (var+eps)/S², with S the largest |output| on calibration images.
The outputs are unchanged; the scales are reported. Every export is verified with an independent
numpy reader of the written files in both ZQCNN loading modes (plain, and merge-BN + 1e-9 cutoff).
"""
import argparse
import glob
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from config import config  # noqa: E402
from tools import zqcnn_format as zq  # noqa: E402

HEAD_NAMES = {'pnet': ['prob1', 'conv4-2'], 'rnet': ['prob1', 'conv5-2'],
              'onet': ['prob1', 'conv6-2', 'conv6-3'], 'lnet': ['conv6-3']}


def calibration_batch(model, images=None, n=32, seed=0):
    """Calibration inputs: crops/resizes of real images when available, else uniform noise."""
    import cv2
    from core.image import to_tensor
    info = model.info
    size = info['size']
    rng = np.random.RandomState(seed)
    if images is None:
        images = sorted(glob.glob(os.path.join(config.shared, 'images', '*.jpg')))
    imgs = [im for im in (cv2.imread(p) for p in images) if im is not None]
    if info['kind'] == 'pnet':
        if imgs:
            return [to_tensor(cv2.resize(im, (max(size, im.shape[1] // k), max(size, im.shape[0] // k))))
                    for im in imgs[:3] for k in (1, 3)]
        return [rng.uniform(-1, 1, (1, 3, 120, 160)).astype(np.float32)]
    if not imgs:
        return [rng.uniform(-1, 1, (n, 3, size, size)).astype(np.float32)]
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
    from core.model_io import InferenceModel
    graph = json.loads(model.sym.tojson())
    names = [n['name'] for n in graph['nodes'] if n['op'] in ('Convolution', 'FullyConnected')]
    internals = model.sym.get_internals()
    import mxnet as mx
    group = mx.sym.Group([internals[n + '_output'] for n in names])
    runner = InferenceModel(group, model.arg, model.aux)
    out = {n: 0.0 for n in names}
    for batch in batches:
        for n, v in zip(names, runner(batch)):
            out[n] = max(out[n], float(np.abs(v).max()))
    return out


def export_zqcnn(model, out_prefix, rescale=True, calib_images=None):
    """Write ``out_prefix.zqparams`` / ``.nchwbin``; returns {layer: scale} (1.0 when unscaled)."""
    info = model.info
    graph = json.loads(model.sym.tojson())
    nodes = graph['nodes']
    arg = {k: v.asnumpy().astype(np.float64) for k, v in model.arg.items()}
    aux = {k: v.asnumpy().astype(np.float64) for k, v in model.aux.items()}
    consumers = {}
    for i, n in enumerate(nodes):
        for inp in n['inputs']:
            consumers.setdefault(inp[0], []).append(i)
    heads = [h[0] for h in graph['heads']]
    head_names = dict(zip(heads, HEAD_NAMES[info['kind']]))
    maxima = activation_maxima(model, calibration_batch(model, calib_images)) if rescale else {}
    blob, scale, lines, chunks, report = {}, {}, [], [], {}

    def param(node_idx, k):
        name = nodes[nodes[node_idx]['inputs'][k][0]]['name']
        return arg[name] if name in arg else aux[name]

    size = info['size']
    for i, n in enumerate(nodes):
        op, name, attrs = n['op'], n['name'], n.get('attrs', {})
        if op == 'null':
            if name == 'data':
                lines.append('Input name=data C=3 H=%d W=%d' % (size, size))
                blob[i], scale[i] = 'data', 1.0
            continue
        src = n['inputs'][0][0]
        bottom, s_in = blob[src], scale[src]
        top = head_names.get(i, name)
        if op in ('Convolution', 'FullyConnected'):
            users = [nodes[j]['op'] for j in consumers.get(i, [])]
            fixed = i in heads or 'softmax' in users or not rescale
            s_out = 1.0 if fixed else (maxima.get(name) or 1.0)
            w = param(i, 1) * s_in / s_out
            has_bias = attrs.get('no_bias', 'False') not in ('True', 'true', '1')
            b = param(i, 2) / s_out if has_bias else None
            if op == 'Convolution':
                k = [int(v) for v in attrs['kernel'].strip('()').split(',')]
                st = [int(v) for v in attrs.get('stride', '(1, 1)').strip('()').split(',')]
                pd = [int(v) for v in attrs.get('pad', '(0, 0)').strip('()').split(',')]
                groups = int(attrs.get('num_group', 1))
                c_out = int(attrs['num_filter'])
                if groups == 1:
                    kind = 'Convolution'
                elif groups == c_out and w.shape[1] == 1:
                    kind = 'DepthwiseConvolution'
                else:
                    raise ValueError('%s: grouped convolution is not supported by ZQCNN' % name)
                lines.append('%s name=%s bottom=%s top=%s num_output=%d kernel_H=%d kernel_W=%d '
                             'stride_H=%d stride_W=%d pad_H=%d pad_W=%d%s'
                             % (kind, name, bottom, top, c_out, k[0], k[1], st[0], st[1], pd[0], pd[1],
                                ' bias' if has_bias else ''))
                chunks.append(w.reshape(-1))
            else:
                lines.append('InnerProduct name=%s bottom=%s top=%s num_output=%d%s'
                             % (name, bottom, top, int(attrs['num_hidden']), ' bias' if has_bias else ''))
                chunks.append(w.reshape(-1))
            if b is not None:
                chunks.append(b)
            report[name] = s_out
            blob[i], scale[i] = top, s_out
        elif op == 'BatchNorm':
            eps = float(attrs.get('eps', 1e-3))
            gamma = param(i, 1)
            if attrs.get('fix_gamma', 'True') in ('True', 'true', '1'):
                gamma = np.ones_like(gamma)
            mean, var = param(i, 3) / s_in, (param(i, 4) + eps) / s_in ** 2
            lines.append('BatchNormScale name=%s bottom=%s top=%s bias' % (name, bottom, top))
            chunks += [mean, var, gamma, param(i, 2)]
            blob[i], scale[i] = top, 1.0
        elif op == 'LeakyReLU':
            if attrs.get('act_type') != 'prelu':
                raise ValueError('%s: only PReLU activations are exported' % name)
            lines.append('PReLU name=%s bottom=%s top=%s' % (name, bottom, top))
            chunks.append(param(i, 1))
            blob[i], scale[i] = top, s_in
        elif op == 'Pooling':
            if attrs.get('pool_type') != 'max':
                raise ValueError('%s: only max pooling is exported' % name)
            k = int(attrs['kernel'].strip('()').split(',')[0])
            st = int(attrs.get('stride', '(1, 1)').strip('()').split(',')[0])
            lines.append('Pooling name=%s bottom=%s top=%s pool=MAX kernel_size=%d stride=%d'
                         % (name, bottom, top, k, st))
            blob[i], scale[i] = top, s_in
        elif op == 'Flatten':
            blob[i], scale[i] = bottom, s_in  # InnerProduct flattens by itself
        elif op == 'softmax':
            if abs(s_in - 1.0) > 0:
                raise ValueError('%s: softmax input must be unscaled' % name)
            lines.append('Softmax name=%s bottom=%s top=%s axis=1' % (name, bottom, top))
            blob[i], scale[i] = top, 1.0
        elif op in ('elemwise_add', '_Plus', '_plus'):
            other = n['inputs'][1][0]
            if scale[other] != s_in:
                raise ValueError('%s: residual inputs have different scales' % name)
            lines.append('Eltwise operation=sum name=%s bottom=%s bottom=%s top=%s'
                         % (name, bottom, blob[other], top))
            blob[i], scale[i] = top, s_in
        else:
            raise ValueError('%s: operator %s has no ZQCNN equivalent' % (name, op))
    for h in heads:
        if scale[h] != 1.0:
            raise ValueError('output %s ended with scale %g' % (nodes[h]['name'], scale[h]))
    folder = os.path.dirname(os.path.abspath(out_prefix))
    os.makedirs(folder, exist_ok=True)
    text = '\n'.join(lines) + '\n'
    for path, write in ((out_prefix + '.zqparams', lambda p: open(p, 'w', newline='\n').write(text)),
                        (out_prefix + '.nchwbin',
                         lambda p: np.concatenate(chunks).astype('<f4').tofile(p))):
        tmp = path + '.tmp'
        write(tmp)
        os.replace(tmp, path)
    return report


def verify(model, out_prefix, seed=0):
    """Max abs difference MXNet vs the numpy reader, per loading mode."""
    info = model.info
    size = info['size']
    rng = np.random.RandomState(seed)
    shape = (1, 3, 60, 80) if info['kind'] == 'pnet' else (4, 3, size, size)
    x = rng.uniform(-1, 1, shape).astype(np.float32)
    ref = model(x)
    names = HEAD_NAMES[info['kind']]
    result = {}
    for mode in ('plain', 'mtcnn'):
        layers = zq.read_network(out_prefix + '.zqparams', out_prefix + '.nchwbin', shape, mode)
        blobs = zq.forward(layers, x)
        result[mode] = max(float(np.abs(blobs[nm].reshape(r.shape) - r).max()) for nm, r in zip(names, ref))
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--prefix', required=True)
    ap.add_argument('--epoch', type=int, required=True)
    ap.add_argument('--network', default=None)
    ap.add_argument('--with_landmark', action='store_true')
    ap.add_argument('--out', required=True, help='output prefix (.zqparams / .nchwbin)')
    ap.add_argument('--no_rescale', action='store_true', help='write the raw weights (may break ZQCNN)')
    ap.add_argument('--calib', default=None, help='comma-separated calibration images')
    args = ap.parse_args(argv)
    from core.model_io import ModelError, load_model
    try:
        model = load_model(args.prefix, args.epoch, network=args.network,
                           with_landmark=args.with_landmark or None)
    except ModelError as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 2
    calib = args.calib.split(',') if args.calib else None
    report = export_zqcnn(model, args.out, rescale=not args.no_rescale, calib_images=calib)
    diffs = verify(model, args.out)
    scaled = {k: v for k, v in report.items() if v != 1.0}
    print('%s -> %s.zqparams / .nchwbin' % (model.network, args.out))
    if scaled:
        print('activation scales: ' + ', '.join('%s=%.3g' % kv for kv in scaled.items()))
    print('numpy reader vs MXNet: plain %.2e, merge-BN+1e-9 %.2e' % (diffs['plain'], diffs['mtcnn']))
    return 0 if max(diffs.values()) < 1e-4 else 1


if __name__ == '__main__':
    sys.exit(main())
