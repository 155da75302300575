"""Landmark accuracy on a list of face images with ground-truth points (protocol:
core/evaluation/landmarks.py), in two protocols:

    python tools/eval_landmarks.py --prefix model/lnet --epoch 16 --list ../shared/data/landmarks5/new_testing.txt
    python tools/eval_landmarks.py --detect --list ../shared/data/landmarks5/new_testing.txt

* crop (default): every listed image is the face crop; it is resized to the net's input.
* ``--detect``: the whole pipeline. Each image is upscaled ``--upscale`` times (bilinear; the CUHK
  crops are 80×80 with faces of ~40 px, too close to the cascade's minimum face otherwise), the
  cascade runs (default: the committed default models with their landmark source — a 5-point Lnet on
  the squared final box when the models list one, else the Onet's landmark head), the face whose box
  centre is nearest the centre of the ground-truth points is taken, and its points are mapped back
  to the original image. A face with no detection counts as not detected; NME and the failure rate
  are over the detected faces. ``--peer caffe`` runs the original MTCNN (Caffe det1–3) instead.

NME is the mean point error over the inter-ocular distance (eye centres for 5 points), failure the
share of faces with NME > 10 %. Writes a CED plot (cumulative error distribution with AUC@0.1, and a
mean-shape baseline in the crop protocol) and a picture of predictions; the last line is
``nme=<percent> failure=<percent> detected=<n>/<N>`` (``--detect``) or ``nme=… failure_rate=… l1=… l2=…``.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402
from cli import config  # noqa: E402
from core.evaluation import landmark_eval as L  # noqa: E402
from core.common.errors import InputError, SettingError  # noqa: E402


def crop_protocol(args):
    from core.runtime.model_io import ModelError, load_model
    if not args.prefix or args.epoch is None:
        raise SettingError('the crop protocol needs --prefix and --epoch of a landmark net (or use --detect)')
    model = load_model(args.prefix, args.epoch, network=args.network)
    if model.info['kind'] == 'onet' and not model.with_landmark:
        raise ModelError('%s: %s has no landmark head' % (args.prefix, model.network))
    if model.info['kind'] not in ('onet', 'lnet'):
        raise ModelError('%s: %s is not a landmark net' % (args.prefix, model.network))
    n_points = 5 if model.info['kind'] == 'onet' else model.info['n_points']
    samples = _usable(L.read_points(args.list, n_points, args.image_root))
    pred, sides = L.predict(model, samples)
    gt = np.stack([p for _, p in samples])
    res, err = L.metrics(pred, gt, sides, n_points)
    res['pose'] = L.pose_line(err, gt) if n_points == 5 else None
    mean_shape = L.mean_shape_baseline(samples, sides, args.mean_shape_list, n_points)
    errors = {model.network: err}
    if mean_shape is not None:
        errors['mean shape'] = mean_shape
    return samples, pred, res, errors, '%s on %s: %d faces, %d points' % (model.network, args.list, res['n'], n_points)


def _usable(samples):
    """The list's lines with a readable image and points on it; the others counted and named."""
    kept, skipped = L.usable_samples(samples)
    line = L.skip_line(skipped, len(samples))
    if line:
        print('warning: ' + line, flush=True)
    if not kept:
        raise InputError('no line of the list has a readable image with its points on it')
    SKIPPED[0] = len(skipped)
    return kept


SKIPPED = [0]  # lines left out by _usable, for the last line


def detect_protocol(args):
    samples = _usable(L.read_points(args.list, 5, args.image_root))
    if args.peer == 'caffe':
        from core.detect.peers import CAFFE_MTCNN, caffe_mtcnn
        det = caffe_mtcnn(cli.peer_settings(args, CAFFE_MTCNN))
        if det is None:
            raise FileNotFoundError('the Caffe MTCNN models are not in %s' % os.path.join(config.shared, 'models'))
        label = 'original MTCNN (Caffe)'
    else:
        det = cli.detector_from_args(args)
        label = 'this cascade (%s)' % ('Lnet' if det.lnet is not None else 'Onet landmark head')
        if det.lnet is None and not (det.onet is not None and det.onet.info.get('kind') == 'onet'
                                     and getattr(det.onet, 'with_landmark', False)):
            raise SettingError('the cascade has no landmark source: give --lnet PREFIX,EPOCH or an Onet with '
                             'a landmark head')
    pred, res, err = _detect_and_score(det, samples, args.upscale)
    errors = {label: err}
    if args.compare == 'caffe' and args.peer != 'caffe':
        from core.detect.peers import caffe_mtcnn
        peer = caffe_mtcnn()
        if peer is None:
            raise FileNotFoundError('the Caffe MTCNN models are not in %s' % os.path.join(config.shared, 'models'))
        _, peer_res, errors['original MTCNN (Caffe)'] = _detect_and_score(peer, samples, args.upscale)
        res['compare'] = 'original MTCNN (Caffe, its own settings) on the same faces: nme=%.2f failure=%.2f ' \
                         'detected=%d/%d\n  its %s' % (peer_res['nme'], peer_res['failure'], peer_res['detected'],
                                                      len(samples), peer_res['pose'])
    return samples, pred, res, errors, '%s on %s: detected %d of %d faces (x%g upscale)' % (
        label, args.list, res['detected'], len(samples), args.upscale)


def _detect_and_score(det, samples, upscale):
    """(points, metrics, per-face errors) of a cascade with a landmark source on the samples."""
    pred, found = L.detect_points(det, samples, upscale)
    gt = np.stack([p for _, p in samples])
    res, err = L.metrics(pred[found], gt[found], np.ones((int(found.sum()), 2)), 5)
    res['detected'], res['total'] = int(found.sum()), len(samples)
    res['pose'] = L.pose_line(err, gt[found])
    # where the points sit against the labels on the whole: a label convention or a block of offset labels
    res['offset'] = np.median((pred[found] - gt[found]).reshape(-1, 2), 0) if found.any() else np.full(2, np.nan)
    return pred, res, err


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--list', default=os.path.join(config.shared, 'data', 'landmarks5', 'new_testing.txt'))
    ap.add_argument('--image_root', default=None, help='image folder (default: the list\'s folder)')
    ap.add_argument('--out', default=os.path.join('runs', 'eval_landmarks'))
    ap.add_argument('--detect', action='store_true', help='the detection protocol (cascade + landmark source)')
    ap.add_argument('--upscale', type=cli.number(float, above=0), default=2.0, help='--detect: image upscale factor')
    ap.add_argument('--peer', choices=['caffe'], default=None, help='--detect with the original MTCNN instead')
    ap.add_argument('--compare', choices=['caffe'], default=None,
                    help='--detect: also the original MTCNN (its own settings) on the same faces, its curve on the CED')
    ap.add_argument('--network', default=None, help='crop protocol: the landmark net variant (default: read)')
    ap.add_argument('--mean_shape_list', default=None, help='crop protocol: training list for the mean-shape '
                    'baseline (default: new_training.txt beside --list when it exists)')
    cli.add_detector_args(ap, committed_defaults=True, point='accurate')
    args = ap.parse_args(argv)
    if args.compare and not args.detect:
        raise SettingError('--compare needs --detect')
    if args.detect:
        samples, pred, res, errors, head = detect_protocol(args)
    else:
        args.epoch = int(args.epoch) if args.epoch else None
        samples, pred, res, errors, head = crop_protocol(args)
    from core.common.plot import ced_plot
    png = L.draw_samples(samples, pred, os.path.join(args.out, 'samples.png'))
    ced = ced_plot(errors, os.path.join(args.out, 'ced.png'), title=os.path.basename(args.list))
    print(head)
    print('samples (green: ground truth, red: prediction): %s; CED: %s' % (png, ced))
    if res.get('pose'):
        print(res['pose'])
    if res.get('compare'):
        print(res['compare'])
    if args.detect:
        print('median signed error, prediction - label: dx %+.2f dy %+.2f pixels' % tuple(res['offset']))
        print('nme=%.2f failure=%.2f detected=%d/%d skipped=%d' % (res['nme'], res['failure'], res['detected'],
                                                                   res['total'], SKIPPED[0]))
    else:
        print('nme=%.3f failure_rate=%.2f l1=%.5f l2=%.6f skipped=%d' % (res['nme'], res['failure'], res['l1'],
                                                                       res['l2'], SKIPPED[0]))
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
