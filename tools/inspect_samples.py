"""Look at generated samples: counts per class and a PNG grid of random crops with their boxes
(from the regression targets) and landmarks, to check the data is right.

    python tools/inspect_samples.py data/samples/20 --out runs/inspect_20.png
"""
import glob
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402

from core.landmarks.points import from_vector  # noqa: E402
from core.common.packed import RecordReader, decode_image  # noqa: E402

COLORS = {'pos': (0, 255, 0), 'part': (0, 200, 255), 'neg': (0, 0, 255), 'neg_hard': (255, 0, 255),
          'landmark': (255, 255, 0), 'landmark106': (255, 255, 0)}


def draw_sample(img, label, cls, scale=4):
    s = img.shape[0]
    big = cv2.resize(img, (s * scale, s * scale), interpolation=cv2.INTER_NEAREST)
    code = int(round(label[0]))
    if code in (1, -1) and len(label) >= 5:  # the face box implied by the offsets
        x1, y1 = label[1] * s, label[2] * s
        x2, y2 = s + label[3] * s, s + label[4] * s
        cv2.rectangle(big, (int(x1 * scale), int(y1 * scale)), (int(x2 * scale), int(y2 * scale)), COLORS[cls], 1)
    elif code == -2:
        n = 5 if len(label) == 11 else (len(label) - 1) // 2
        for x, y in from_vector(label[1:], n):
            cv2.circle(big, (int((x * s - 0.5) * scale), int((y * s - 0.5) * scale)), 2, COLORS[cls], -1)
    cv2.putText(big, cls, (2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, COLORS.get(cls, (255, 255, 255)), 1)
    return cv2.resize(big, (96, 96))


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('folder', help='a sample folder, e.g. data/samples/20')
    ap.add_argument('--out', default=None, help='PNG to write (default <folder>/inspect.png)')
    ap.add_argument('--per_class', type=cli.number(int, low=1), default=8)
    ap.add_argument('--seed', type=cli.number(int, low=0), default=0)
    args = ap.parse_args(argv)
    rng = np.random.RandomState(args.seed)
    recs = sorted(glob.glob(os.path.join(args.folder, '*.idx')))
    if not recs:
        print('error: no packed samples (*.rec/*.idx) in %s' % args.folder, file=sys.stderr)
        return 2
    rows = []
    for idx in recs:
        cls = os.path.basename(idx)[:-4]
        reader = RecordReader(idx[:-4])
        print('%-12s %8d' % (cls, len(reader)))
        if not len(reader):
            continue
        tiles = []
        for i in rng.choice(len(reader), min(args.per_class, len(reader)), replace=False):
            label, _, _, jpeg = reader.read(int(i))
            img = decode_image(jpeg)
            tiles.append(draw_sample(img, label, cls))
        while len(tiles) < args.per_class:
            tiles.append(np.zeros_like(tiles[0]))
        rows.append(np.hstack(tiles))
    out = args.out or os.path.join(args.folder, 'inspect.png')
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    cv2.imwrite(out, np.vstack(rows))
    print('grid: %s' % out)
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
