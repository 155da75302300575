"""Compare ``--scheme zqcnn`` with ZQCNN's C++ MTCNN: boxes of a reference file against this detector's.

    bash scripts/zqcnn_reference.sh                       # builds ZQCNN, writes tests/data/zqcnn_reference.txt
    python tools/zqcnn_parity.py                          # this detector on the same images and settings
    python tools/zqcnn_parity.py --backend opencv --reference my_reference.txt

The reference file (written by scripts/zqcnn_reference.sh) holds, per operating point, the C++ binary's
integer boxes for each image, image paths relative to the shared data folder (``--root``), and the
checkpoints and their fingerprint. Prints per image and point the boxes found by both and the largest
coordinate difference; the last line is ``max_px=<int> missing=<int> extra=<int>``. Exits 1 when the
boxes differ by more than ``--tolerance`` pixels or in number.
"""
import hashlib
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402
from config import REPO_ROOT, config  # noqa: E402
from core.detect.cascade import BACKENDS  # noqa: E402
from core.common.fileio import FormatError  # noqa: E402

DEFAULT_REFERENCE = os.path.join(REPO_ROOT, 'tests', 'data', 'zqcnn_reference.txt')


def fingerprint(prefixes, epochs):
    """First 16 hex digits of the SHA-256 of the checkpoints' symbol and params files, in order."""
    h = hashlib.sha256()
    for prefix, epoch in zip(prefixes, epochs):
        for path in ('%s-symbol.json' % prefix, '%s-%04d.params' % (prefix, int(epoch))):
            with open(path, 'rb') as f:
                h.update(f.read())
    return h.hexdigest()[:16]


def read_reference(path):
    """``(models, points)``: ``models`` = dict(prefixes, epochs, sha); ``points`` = list of dicts
    (name, thresh, nms, min_face, factor, images = [(relpath, width, height, N×5 boxes)])."""
    models, points, current, n_left, where = None, [], None, 0, path
    with open(path) as f:
        for no, line in enumerate(f, 1):
            where = '%s:%d' % (path, no)
            parts = line.split()
            if not parts or parts[0].startswith('#'):
                continue
            try:
                if n_left:
                    current['images'][-1][3].append([float(v) for v in parts[:5]])
                    if len(parts) != 5:
                        raise ValueError
                    n_left -= 1
                elif parts[0] == 'models':
                    models = dict(prefixes=parts[1].split(','), epochs=[int(e) for e in parts[2].split(',')],
                                  sha=parts[4])
                elif parts[0] == 'point':
                    kv = dict(zip(parts[2::2], parts[3::2]))
                    current = dict(name=parts[1], thresh=[float(v) for v in kv['thresh'].split(',')],
                                   nms=[float(v) for v in kv['nms'].split(',')], min_face=int(kv['min_face']),
                                   factor=float(kv['factor']), images=[])
                    points.append(current)
                elif parts[0] == 'image':
                    rel, width, height, n_left = parts[1], int(parts[2]), int(parts[3]), int(parts[5])
                    current['images'].append((rel, width, height, []))
                else:
                    raise ValueError
            except (ValueError, KeyError, IndexError, TypeError):
                raise FormatError('%s: cannot read %r (expected the format of scripts/zqcnn_reference.sh)'
                                  % (where, line.strip())) from None
    if n_left or models is None or not points:
        raise FormatError('%s: incomplete reference file (rerun scripts/zqcnn_reference.sh)' % where)
    for p in points:
        p['images'] = [(r, w, h, np.array(b, np.float64).reshape(-1, 5)) for r, w, h, b in p['images']]
    return models, points


def reference_boxes(path, point, image):
    """The C++ boxes (N×5) of one ``image`` (its path as written, e.g. ``images/4.jpg``) at ``point``."""
    for p in read_reference(path)[1]:
        if p['name'] == point:
            for rel, _, _, boxes in p['images']:
                if rel == image:
                    return boxes
    raise FormatError('%s: no boxes of %s at the %s point' % (path, image, point))


def match(ours, theirs):
    """Largest coordinate difference after pairing each reference box with its nearest box of ours
    (``ours``, ``theirs``: N×≥4) -> (max_px, missing, extra)."""
    if len(theirs) == 0 or len(ours) == 0:
        return 0, len(theirs), len(ours)
    d = np.abs(theirs[:, None, :4] - ours[None, :, :4]).max(2)
    worst, used = 0, set()
    for i in np.argsort(d.min(1)):
        j = next((j for j in np.argsort(d[i]) if j not in used), None)
        if j is None:
            break
        used.add(j)
        worst = max(worst, int(d[i, j]))
    return worst, max(0, len(theirs) - len(used)), len(ours) - len(used)


def compare(reference, root, backend='onnx', threads=1, report=print):
    """Run ``--scheme zqcnn`` on every image and point of a reference file -> (max_px, missing, extra)."""
    from core.detect.cascade import build_cascade
    from core.common.image import read_image
    from core.recipes.cascade_settings import DEFAULTS
    models, points = read_reference(reference)
    prefixes = [p if os.path.isabs(p) else os.path.join(REPO_ROOT, p) for p in models['prefixes']]
    sha = fingerprint(prefixes, models['epochs'])
    if sha != models['sha']:
        raise FormatError('%s: made with other weights (fingerprint %s, these checkpoints %s); rerun '
                          'scripts/zqcnn_reference.sh' % (reference, models['sha'], sha))
    total = [0, 0, 0]
    for p in points:
        settings = DEFAULTS.replace(reference, thresh=tuple(p['thresh']), min_face=p['min_face'], factor=p['factor'])
        det = build_cascade(prefixes, models['epochs'], settings=settings, backend=backend, threads=threads,
                           scheme='zqcnn', nms=p['nms'])
        for rel, _, _, theirs in p['images']:
            ours = det.detect(read_image(os.path.join(root, rel)))[0]
            px, missing, extra = match(ours, theirs)
            report('%-8s %-60s zqcnn %3d ours %3d max_px %d' % (p['name'], rel, len(theirs), len(ours), px))
            total = [max(total[0], px), total[1] + missing, total[2] + extra]
    return tuple(total)


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--reference', default=DEFAULT_REFERENCE)
    ap.add_argument('--root', default=config.shared, help='folder the reference image paths are relative to')
    ap.add_argument('--backend', default='onnx', choices=list(BACKENDS))
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--tolerance', type=int, default=1, help='largest allowed coordinate difference (px)')
    args = ap.parse_args(argv)
    px, missing, extra = compare(args.reference, args.root, args.backend, args.threads)
    print('max_px=%d missing=%d extra=%d' % (px, missing, extra))
    return 0 if px <= args.tolerance and not missing and not extra else 1


if __name__ == '__main__':
    sys.exit(cli.run(main))
