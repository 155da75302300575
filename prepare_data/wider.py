"""WIDER FACE annotations: the official ``.mat`` (MATLAB v5 via scipy; v7.3/HDF5 via h5py when
installed) and ``*_bbx_gt.txt`` files -> the original's ``anno.txt`` and image list (spec §1.2).

``anno.txt`` line: ``<image path> x1 y1 x2 y2 [...]`` with integer ``x2 = x + w`` (no −1); the
list holds the same paths in the same order.
"""
import os

import numpy as np


class AnnotationError(ValueError):
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
            vals = [int(float(v)) for v in parts[:10]]
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

    Images missing on disk are counted and dropped; zero-size boxes are counted and dropped;
    with ``drop_invalid`` WIDER's ``invalid`` faces are dropped too.
    """
    kept, stats = [], dict(images=0, missing=0, boxes=0, zero_size=0, invalid=0)
    for event, name, boxes, invalid in records:
        path = os.path.abspath(os.path.join(image_root, event, name + '.jpg'))
        if not os.path.isfile(path):
            stats['missing'] += 1
            continue
        keep = (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
        stats['zero_size'] += int((~keep).sum())
        if drop_invalid:
            stats['invalid'] += int((invalid & keep).sum())
            keep &= ~invalid
        b = boxes[keep]
        xyxy = np.c_[b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]]
        kept.append((path, xyxy))
        stats['images'] += 1
        stats['boxes'] += len(xyxy)
    return kept, stats


def write_annotations(kept, anno_path, list_path):
    """Write anno.txt and the image list atomically."""
    for path, lines in ((anno_path, ['%s %s' % (p, ' '.join(str(int(v)) for v in b.ravel())) if len(b) else p
                                     for p, b in kept]),
                        (list_path, [p for p, _ in kept])):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = path + '.tmp'
        with open(tmp, 'w') as f:
            f.write('\n'.join(lines) + ('\n' if lines else ''))
        os.replace(tmp, path)


def read_anno(anno_path):
    """Parse anno.txt: [(path, boxes N×4 float)]; errors name file and line."""
    if not os.path.isfile(anno_path):
        raise FileNotFoundError('annotation file not found: %s' % anno_path)
    out = []
    with open(anno_path) as f:
        for k, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            vals = parts[1:]
            if len(vals) % 4:
                raise AnnotationError('%s:%d: box coordinates must come in groups of 4' % (anno_path, k))
            try:
                boxes = np.asarray([float(v) for v in vals], np.float64).reshape(-1, 4)
            except ValueError:
                raise AnnotationError('%s:%d: non-numeric box coordinate' % (anno_path, k))
            out.append((parts[0], boxes))
    if not out:
        raise AnnotationError('%s: empty annotation file' % anno_path)
    return out


def read_prob(prob_path, n_images):
    """Per-box scores (the original's prob.txt), consumed by line index like the original."""
    probs = []
    with open(prob_path) as f:
        for k, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            try:
                probs.append(np.asarray([float(v) for v in parts[1:]], np.float64))
            except ValueError:
                raise AnnotationError('%s:%d: non-numeric score' % (prob_path, k))
    if len(probs) != n_images:
        raise AnnotationError('%s: %d lines but anno.txt has %d images (lines are matched by index)'
                              % (prob_path, len(probs), n_images))
    return probs
