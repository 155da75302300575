"""An embedded demo detection set, built on the fly from images that ship inside scikit-image
(no download): the LFW face crops of ``skimage.data.lfw_subset()`` composited at varied scales and
positions onto natural backgrounds (coffee, rocket, brick, grass, ...), with exact boxes.

It is a demo set for running the whole pipeline on a fresh clone, **not a benchmark**: faces are
25×25 grey LFW crops pasted onto unrelated scenes.

    python prepare_data/demo_set.py --out data/demo --train 300 --val 80

Writes the WIDER FACE layout so every tool works unchanged: ``WIDER_{train,val}/images/0--Demo/``,
``wider_face_split/wider_face_{train,val}.mat`` and ``*_bbx_gt.txt``, and the evaluation ground truth
``eval_tools/ground_truth/wider_{face,easy,medium,hard}_val.mat`` (every face counts in all three).
Faces and background crops of the two splits are disjoint.
"""
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402

EVENT = '0--Demo'
BACKGROUNDS = ('coffee', 'rocket', 'brick', 'grass', 'gravel', 'moon', 'coins', 'hubble_deep_field',
               'immunohistochemistry', 'clock', 'cell', 'page', 'text', 'colorwheel')


def _bgr(img):
    img = np.asarray(img)
    if img.dtype != np.uint8:
        img = (np.clip(img, 0, 1) * 255).astype(np.uint8) if img.max() <= 1.0 else img.astype(np.uint8)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_RGBA2BGR)
    else:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    return img


def sources():
    """(faces: list of 25×25 BGR crops, backgrounds: list of BGR images) from scikit-image."""
    try:
        from skimage import data
    except ImportError:
        raise SystemExit('error: the demo set needs scikit-image (pip install scikit-image==0.22.0)')
    faces = [_bgr(f) for f in data.lfw_subset()[:100]]  # the first 100 are faces
    backs = []
    for name in BACKGROUNDS:
        try:
            backs.append(_bgr(getattr(data, name)()))
        except Exception:  # an image that would need a download: skip it
            continue
    return faces, backs


def compose(background, faces, rng, size=(320, 240), max_faces=4, min_side=20, max_side=80):
    """One demo image: a random crop of ``background`` with 1..max_faces pasted faces.

    Returns (image, boxes N×4 as x, y, w, h)."""
    w, h = size
    bh, bw = background.shape[:2]
    scale = max(w / bw, h / bh) * rng.uniform(1.0, 1.8)
    bg = cv2.resize(background, (int(np.ceil(bw * scale)), int(np.ceil(bh * scale))))
    x0 = rng.randint(0, bg.shape[1] - w + 1)
    y0 = rng.randint(0, bg.shape[0] - h + 1)
    img = bg[y0:y0 + h, x0:x0 + w].copy()
    if rng.rand() < 0.5:
        img = img[:, ::-1].copy()
    boxes = []
    for _ in range(rng.randint(1, max_faces + 1)):
        for _try in range(20):
            s = int(rng.randint(min_side, max_side + 1))
            x, y = rng.randint(0, w - s + 1), rng.randint(0, h - s + 1)
            if all(x + s <= bx or bx + bs <= x or y + s <= by or by + bs <= y for bx, by, bs, _ in boxes):
                face = faces[rng.randint(len(faces))]
                face = cv2.resize(face, (s, s), interpolation=cv2.INTER_LINEAR).astype(np.float32)
                face = np.clip(face * rng.uniform(0.7, 1.3) + rng.uniform(-20, 20), 0, 255)
                img[y:y + s, x:x + s] = face.astype(np.uint8)
                boxes.append((x, y, s, s))
                break
    return img, np.asarray(boxes, np.float64).reshape(-1, 4)


def _write_txt(path, names, boxes):
    with open(path, 'w') as f:
        for name, b in zip(names, boxes):
            f.write('%s/%s.jpg\n%d\n' % (EVENT, name, len(b)))
            for x, y, w, h in b:
                f.write('%d %d %d %d 0 0 0 0 0 0\n' % (x, y, w, h))
            if not len(b):
                f.write('0 0 0 0 0 0 0 0 0 0\n')


def _cell(items):
    arr = np.empty((len(items), 1), dtype=object)
    for i, v in enumerate(items):
        arr[i, 0] = v
    return arr


def _write_mat(path, names, boxes):
    from scipy.io import savemat
    files = _cell([np.array([n]) for n in names])
    bbx = _cell([np.asarray(b, np.float64).reshape(-1, 4) for b in boxes])
    zeros = _cell([np.zeros((len(b), 1)) for b in boxes])
    savemat(path, {'event_list': _cell([np.array([EVENT])]), 'file_list': _cell([files]),
                   'face_bbx_list': _cell([bbx]), 'invalid_label_list': _cell([zeros]),
                   'blur_label_list': _cell([zeros]), 'occlusion_label_list': _cell([zeros]),
                   'pose_label_list': _cell([zeros]), 'expression_label_list': _cell([zeros]),
                   'illumination_label_list': _cell([zeros])})


def _write_gt_lists(folder, names, boxes):
    from scipy.io import savemat
    gt = _cell([_cell([np.arange(1, len(b) + 1, dtype=np.float64).reshape(-1, 1) for b in boxes])])
    for s in ('easy', 'medium', 'hard'):
        savemat(os.path.join(folder, 'wider_%s_val.mat' % s), {'gt_list': gt})


PHOTO = 'photo_astronaut.jpg'


def make_demo_set(out, n_train=300, n_val=80, seed=0, size=(320, 240)):
    """Write the demo set under ``out``; returns {split: (image count, face count)}."""
    faces, backs = sources()
    rng = np.random.RandomState(seed)
    split_faces = {'train': faces[:80], 'val': faces[80:]}
    # disjoint background material: even-indexed backgrounds for train, odd for val, plus both
    # halves of each image split left/right
    report = {}
    os.makedirs(os.path.join(out, 'wider_face_split'), exist_ok=True)
    gt_dir = os.path.join(out, 'eval_tools', 'ground_truth')
    os.makedirs(gt_dir, exist_ok=True)
    for split, n in (('train', n_train), ('val', n_val)):
        half = [b[:, :b.shape[1] // 2] if split == 'train' else b[:, b.shape[1] // 2:] for b in backs]
        img_dir = os.path.join(out, 'WIDER_%s' % split, 'images', EVENT)
        os.makedirs(img_dir, exist_ok=True)
        names, all_boxes = [], []
        for i in range(n):
            img, boxes = compose(half[rng.randint(len(half))], split_faces[split], rng, size)
            name = '0_Demo_%s_%d' % (split, i)
            cv2.imwrite(os.path.join(img_dir, name + '.jpg'), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
            names.append(name)
            all_boxes.append(boxes.astype(int))
        _write_txt(os.path.join(out, 'wider_face_split', 'wider_face_%s_bbx_gt.txt' % split), names, all_boxes)
        _write_mat(os.path.join(out, 'wider_face_split', 'wider_face_%s.mat' % split), names, all_boxes)
        if split == 'val':
            _write_mat(os.path.join(gt_dir, 'wider_face_val.mat'), names, all_boxes)
            _write_gt_lists(gt_dir, names, all_boxes)
        report[split] = (n, int(sum(len(b) for b in all_boxes)))
    # a real photo with a face (scikit-image's astronaut) for looking at the trained cascade's output
    from skimage import data
    cv2.imwrite(os.path.join(out, PHOTO), _bgr(data.astronaut()), [cv2.IMWRITE_JPEG_QUALITY, 95])
    return report


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--out', default=os.path.join('data', 'demo'))
    ap.add_argument('--train', type=cli.number(int, low=1), default=300)
    ap.add_argument('--val', type=cli.number(int, low=1), default=80)
    ap.add_argument('--seed', type=cli.number(int, low=0), default=0)
    args = ap.parse_args(argv)
    report = make_demo_set(args.out, args.train, args.val, args.seed)
    for split, (n, f) in report.items():
        print('%s: %d images, %d faces' % (split, n, f))
    print('demo set (WIDER layout) in %s — a demo, not a benchmark' % args.out)
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
