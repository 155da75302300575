"""Landmark accuracy of an Lnet / Lnet106 / Onet-with-landmark checkpoint on a list of face crops.

    python tools/eval_landmarks.py --prefix model/lnet --epoch 16 \
        --list ../shared/data/landmarks5/new_testing.txt

List formats: 5 points — ``path x1 x2 x3 x4 x5 y1 y2 y3 y4 y5`` (CUHK / the original's landmark
lists); 106 points — ``path x0 y0 x1 y1 ...`` (interleaved). Coordinates are pixels of the listed
image, which is the face crop; paths are relative to the list's folder (or ``--image_root``).
Each crop is resized to the net's input; predictions are crop-normalised and mapped back with
the original's half-pixel convention (x = v·side − 0.5, spec §4.4).

Reports the mean point error normalised by the inter-ocular distance (NME %, eye centres for 5
points, outer eye corners 52/61 for 106), the failure rate (NME > 10 %), the original's L1/L2 on
crop-normalised coordinates (spec §4.5) and writes a PNG of sample predictions.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from config import config  # noqa: E402

EYES = {5: (0, 1), 106: (52, 61)}


def read_list(path, n_points, image_root=None):
    """[(image path, P×2 pixel points)] of a 5-point (CUHK layout) or 106-point list."""
    from core.landmarks import read_list as read_landmarks
    return [(p, pts) for p, _, pts in read_landmarks(path, 'cuhk' if n_points == 5 else 'l106', image_root)]


def metrics(pred, gt, sides, n_points):
    """NME (% of inter-ocular distance), failure rate (% with NME > 10 %), L1/L2 per coordinate
    on crop-normalised coordinates. ``pred``/``gt``: N×P×2 pixels, ``sides``: N crop sizes (w, h)."""
    i, j = EYES[n_points]
    iod = np.linalg.norm(gt[:, i] - gt[:, j], axis=1)
    err = np.linalg.norm(pred - gt, axis=2).mean(axis=1) / np.maximum(iod, 1e-9)
    norm_p = pred / sides[:, None, :]
    norm_g = gt / sides[:, None, :]
    d = norm_p - norm_g
    return dict(nme=100 * float(err.mean()), failure=100 * float((err > 0.1).mean()),
                l1=float(np.abs(d).mean()), l2=float((d ** 2).mean()), n=len(gt)), err


def predict(model, samples, batch=256):
    """Run the net on every crop; returns N×P×2 pixel predictions and N×2 crop sizes."""
    import cv2
    from tqdm import tqdm
    from core.image import to_tensor
    size = model.info['size']
    five = model.info['kind'] == 'onet' or model.info['n_points'] == 5
    preds, sides = [], []
    for start in tqdm(range(0, len(samples), batch), desc='landmarks', unit='batch'):
        imgs, whs = [], []
        for path, _ in samples[start:start + batch]:
            img = cv2.imread(path)
            if img is None:
                raise FileNotFoundError('cannot read image %s' % path)
            whs.append((img.shape[1], img.shape[0]))
            imgs.append(cv2.resize(img, (size, size)))
        out = model(to_tensor(imgs))
        v = out[2] if model.info['kind'] == 'onet' else out[0]
        n = v.shape[1] // 2
        xs, ys = (v[:, :n], v[:, n:]) if five else (v[:, 0::2], v[:, 1::2])
        wh = np.array(whs, float)
        preds.append(np.stack([xs * wh[:, :1] - 0.5, ys * wh[:, 1:] - 0.5], 2))
        sides.append(wh)
    return np.concatenate(preds), np.concatenate(sides)


def draw_samples(samples, pred, path, count=16, scale=2):
    import cv2
    tiles = []
    for (img_path, gt), p in list(zip(samples, pred))[:count]:
        img = cv2.imread(img_path)
        img = cv2.resize(img, (img.shape[1] * scale, img.shape[0] * scale))
        for x, y in gt:
            cv2.circle(img, (int(round((x + 0.5) * scale)), int(round((y + 0.5) * scale))), 2, (0, 255, 0), -1)
        for x, y in p:
            cv2.circle(img, (int(round((x + 0.5) * scale)), int(round((y + 0.5) * scale))), 2, (0, 0, 255), -1)
        tiles.append(cv2.resize(img, (160, 160)))
    while len(tiles) % 4:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i:i + 4]) for i in range(0, len(tiles), 4)]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    cv2.imwrite(path, np.vstack(rows))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--prefix', required=True)
    ap.add_argument('--epoch', type=int, required=True)
    ap.add_argument('--network', default=None)
    ap.add_argument('--list', default=os.path.join(config.shared, 'data', 'landmarks5', 'new_testing.txt'))
    ap.add_argument('--image_root', default=None)
    ap.add_argument('--out', default=os.path.join('runs', 'eval_landmarks'))
    args = ap.parse_args(argv)
    from core.model_io import ModelError, load_model
    try:
        model = load_model(args.prefix, args.epoch, network=args.network)
        if model.info['kind'] == 'onet' and not model.with_landmark:
            raise ModelError('%s has no landmark head' % model.network)
        if model.info['kind'] not in ('onet', 'lnet'):
            raise ModelError('%s is not a landmark net' % model.network)
        n_points = 5 if model.info['kind'] == 'onet' else model.info['n_points']
        samples = read_list(args.list, n_points, args.image_root)
        pred, sides = predict(model, samples)
    except (ModelError, OSError, ValueError) as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 2
    gt = np.stack([p for _, p in samples])
    res, _ = metrics(pred, gt, sides, n_points)
    png = os.path.join(args.out, 'samples.png')
    draw_samples(samples, pred, png)
    print('%s on %s: %d faces, %d points' % (model.network, args.list, res['n'], n_points))
    print('samples (green: ground truth, red: prediction): %s' % png)
    print('nme=%.3f failure_rate=%.2f l1=%.5f l2=%.6f' % (res['nme'], res['failure'], res['l1'], res['l2']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
