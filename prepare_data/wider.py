"""WIDER FACE annotations: the official ``.mat`` (MATLAB v5 via scipy; v7.3/HDF5 via h5py when
installed) and ``*_bbx_gt.txt`` files -> the original's ``anno.txt`` and image list.

``anno.txt`` line: ``<image path> x1 y1 x2 y2 [...]`` with integer ``x2 = x + w`` (no −1); the
list holds the same paths in the same order.
"""
import os

import numpy as np

from core.common.fileio import FormatError, parse_floats, split_path, write_lines
from core.recipes.pipeline_recipe import DataSettings
from core.common.errors import SettingError


class AnnotationError(FormatError):
    """A malformed annotation file (the message names the file and line)."""


def read_mat(mat_path):
    """[(event, name, boxes N×4 x,y,w,h, invalid N)] in .mat order."""
    if not os.path.isfile(mat_path):
        raise FileNotFoundError('annotation file not found: %s' % mat_path)
    try:
        from scipy.io import loadmat
        m = loadmat(mat_path)
    except NotImplementedError:  # MATLAB v7.3 = HDF5
        return _read_mat_h5(mat_path)
    except Exception as exc:  # scipy's MatReadError and friends: the file is not a readable .mat
        raise AnnotationError('%s: not a MATLAB file (%s)' % (mat_path, exc))
    missing = [k for k in ('event_list', 'file_list', 'face_bbx_list') if k not in m]
    if missing:
        raise AnnotationError('%s: not a WIDER FACE annotation file (no %s)' % (mat_path, ', '.join(missing)))
    try:
        return _mat_records(m)
    except (IndexError, TypeError, ValueError) as exc:
        raise AnnotationError('%s: malformed WIDER FACE annotations (%s)' % (mat_path, exc))


def _mat_records(m):
    out = []
    for i, ev in enumerate(m['event_list']):
        event = str(ev[0][0])
        files, boxes = m['file_list'][i][0], m['face_bbx_list'][i][0]
        invalid = m['invalid_label_list'][i][0] if 'invalid_label_list' in m else None
        for j in range(len(files)):
            b = np.asarray(boxes[j][0], dtype=np.int64).reshape(-1, 4)
            inv = np.asarray(invalid[j][0]).ravel().astype(bool) if invalid is not None else np.zeros(len(b), bool)
            out.append((event, str(files[j][0][0]), b, inv))
    return out


def _read_mat_h5(mat_path):
    try:
        import h5py
    except ImportError:
        raise AnnotationError('%s is MATLAB v7.3 (HDF5): install h5py, or use the *_bbx_gt.txt file' % mat_path)
    out = []
    with h5py.File(mat_path, 'r') as f:
        def text(ref):
            return ''.join(chr(c) for c in np.asarray(f[ref]).ravel())
        events = f['event_list'][0]
        for i, ref in enumerate(events):
            event = text(ref)
            files = f[f['file_list'][0][i]][0]
            boxes = f[f['face_bbx_list'][0][i]][0]
            for j in range(len(files)):
                b = np.asarray(f[boxes[j]]).T.astype(np.int64).reshape(-1, 4)
                out.append((event, text(files[j]), b, np.zeros(len(b), bool)))
    return out


def read_txt(txt_path):
    """The official text format: path, count, then ``x y w h blur expr illum invalid occl pose``."""
    if not os.path.isfile(txt_path):
        raise FileNotFoundError('annotation file not found: %s' % txt_path)
    with open(txt_path) as f:
        lines = [ln.strip() for ln in f]
    out, i = [], 0
    while i < len(lines):
        if not lines[i]:
            i += 1
            continue
        path = lines[i].replace('\\', '/')
        if not path.lower().endswith('.jpg'):
            raise AnnotationError('%s:%d: expected an image path, got %r' % (txt_path, i + 1, path))
        try:
            n = int(lines[i + 1])
        except (IndexError, ValueError):
            raise AnnotationError('%s:%d: expected a face count after %s' % (txt_path, i + 2, path))
        rows = max(n, 1)  # a 0-face image still has one line of zeros
        boxes, inv = [], []
        for k in range(rows):
            ln = i + 2 + k
            parts = lines[ln].split() if ln < len(lines) else []
            if len(parts) < 4:
                raise AnnotationError('%s:%d: truncated face line (need x y w h ...)' % (txt_path, ln + 1))
            if n == 0:
                continue
            vals = [int(v) for v in parse_floats(parts[:10], txt_path, ln + 1, 'annotation value')]
            boxes.append(vals[:4])
            inv.append(len(vals) > 7 and vals[7] == 1)
        event, name = os.path.split(path)
        out.append((event, os.path.splitext(name)[0], np.asarray(boxes, np.int64).reshape(-1, 4),
                    np.asarray(inv, bool)))
        i += 2 + rows
    if not out:
        raise AnnotationError('%s: no images' % txt_path)
    return out


def build_annotations(records, image_root, drop_invalid=False):
    """Resolve paths; returns (kept [(path, boxes x1y1x2y2)], stats dict).

    Images missing on disk are counted and dropped. Zero-size boxes are kept, as the original
    writes them (they give no samples and never count as faces, but per-box files such as the
    original's ``prob.txt`` stay aligned with the boxes); with ``drop_invalid`` WIDER's
    ``invalid`` faces are dropped.
    """
    kept, stats = [], dict(images=0, missing=0, boxes=0, zero_size=0, invalid=0)
    for event, name, boxes, invalid in records:
        path = os.path.abspath(os.path.join(image_root, event, name + '.jpg'))
        if not os.path.isfile(path):
            stats['missing'] += 1
            continue
        stats['zero_size'] += int(((boxes[:, 2] <= 0) | (boxes[:, 3] <= 0)).sum())
        keep = np.ones(len(boxes), bool)
        if drop_invalid:
            stats['invalid'] += int(invalid.sum())
            keep &= ~invalid
        b = boxes[keep]
        xyxy = np.c_[b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]]
        kept.append((path, xyxy))
        stats['images'] += 1
        stats['boxes'] += len(xyxy)
    return kept, stats


def split_images(kept, dev_fraction=DataSettings.dev_fraction, seed=DataSettings.dev_seed,
                 train_fraction=DataSettings.train_fraction):
    """(train, dev) of an annotation list: a seeded ``dev_fraction`` of every event's images is held
    out as a dev split (for choosing recipes and thresholds); of the rest, a seeded
    ``train_fraction`` is kept for training (learning curves). Stratified by event folder; images
    within an event are ordered by name first, so the split does not depend on the input order."""
    if not 0 <= dev_fraction < 1 or not 0 < train_fraction <= 1:
        raise SettingError('dev_fraction must be in [0, 1) and train_fraction in (0, 1]')
    events = {}
    for item in kept:
        events.setdefault(os.path.basename(os.path.dirname(item[0])), []).append(item)
    train, dev = [], []
    for k, event in enumerate(sorted(events)):
        items = sorted(events[event], key=lambda it: os.path.basename(it[0]))
        order = np.random.RandomState(np.random.SeedSequence([int(seed), k]).generate_state(1)[0]).permutation(len(items))
        n_dev = int(round(dev_fraction * len(items)))
        rest = order[n_dev:]
        n_train = max(1, int(round(train_fraction * len(rest)))) if len(rest) else 0
        dev += [items[i] for i in sorted(order[:n_dev])]
        train += [items[i] for i in sorted(rest[:n_train])]
    return train, dev


def _coordinate(v):
    """A box coordinate as anno.txt writes it: whole numbers as integers (WIDER's), others exactly."""
    v = float(v)
    return str(int(v)) if v.is_integer() else repr(v)


def write_annotations(kept, anno_path, list_path=None):
    """Write anno.txt (and the image list) atomically."""
    write_lines(anno_path, ['%s %s' % (p, ' '.join(_coordinate(v) for v in np.ravel(b))) if len(b) else p
                            for p, b in kept])
    if list_path:
        write_lines(list_path, [p for p, _ in kept])


def read_anno(anno_path):
    """Parse anno.txt: [(path, boxes N×4 float)]; paths may contain spaces; errors name file and line."""
    if not os.path.isfile(anno_path):
        raise FileNotFoundError('annotation file not found: %s' % anno_path)
    out = []
    with open(anno_path) as f:
        for k, line in enumerate(f, 1):
            if not line.strip():
                continue
            path, vals = split_path(line)
            if len(vals) % 4:
                raise AnnotationError('%s:%d: box coordinates must come in groups of 4 (x1 y1 x2 y2), got %d numbers'
                                      % (anno_path, k, len(vals)))
            boxes = np.asarray(parse_floats(vals, anno_path, k, 'box coordinate'), np.float64).reshape(-1, 4)
            if len(boxes) and ((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])).any():
                raise AnnotationError('%s:%d: a box with x2 < x1 or y2 < y1' % (anno_path, k))
            out.append((path, boxes))
    if not out:
        raise AnnotationError('%s: empty annotation file' % anno_path)
    return out


def _image_key(path):
    """``event/name`` of an image path written with / or \\ separators (the original's prob.txt
    mixes both)."""
    parts = path.replace('\\', '/').split('/')
    return '/'.join(parts[-2:])


def read_prob(prob_path, anno):
    """Per-box scores of the original's ``prob.txt`` (``<path> p1 … pK``, one score per box of the
    image in annotation order), aligned to ``anno`` by image (event/name), so a subset or a
    reordered annotation file still gets each box its own score. Images absent from the file keep
    every box (score 1); a file that scores none of them is an error."""
    by_key = {}
    with open(prob_path) as f:
        for k, line in enumerate(f, 1):
            if not line.strip():
                continue
            path, vals = split_path(line)
            by_key[_image_key(path)] = (np.asarray(parse_floats(vals, prob_path, k, 'score'), np.float64), k)
    out, matched = [], 0
    for path, boxes in anno:
        probs, k = by_key.get(_image_key(path), (np.ones(len(boxes)), None))
        if len(probs) != len(boxes):
            raise AnnotationError('%s:%d: %d scores for %s, which has %d boxes in the annotations'
                                  % (prob_path, k, len(probs), path, len(boxes)))
        matched += k is not None
        out.append(probs)
    if anno and not matched:
        raise AnnotationError('%s: scores none of the %d annotated images (lines are matched by event/name, e.g. %s)'
                              % (prob_path, len(anno), _image_key(anno[0][0])))
    if matched < len(anno):
        print('note: %s scores %d of %d images; the others keep every face' % (prob_path, matched, len(anno)))
    return out
