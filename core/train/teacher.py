"""Distillation targets: a teacher net's outputs on every sample of a training list, computed once and
cached beside the list.

Teachers (the recipe's ``teacher``):

* ``caffe`` — the original MTCNN's Caffe net of the stage (det1 for a Pnet, det2 for an Rnet, det3 for
  an Onet; MIT licence; trained on all of WIDER FACE and CelebA), from ``<shared>/models/caffe-mtcnn``;
  ``caffe:<folder>`` names another folder. Samples are resized to its 12/24/48 input (area resampling).
* ``<prefix>:<epoch>`` — a checkpoint of this project of the same kind (samples resized to its input).

A sample's row holds the teacher's face probability, its 4 box offsets and its 10 point coordinates
(x…, y…; NaN where the teacher has no points head), in the student's own conventions (the detector
reads both alike). The rows are the samples as stored, unmirrored and unaugmented; the batch maker
mirrors them with the crops. The cache, ``<list>.teacher-<key>.npy``, is keyed by the teacher's files
and the list's bytes; a run interrupted while filling it continues where it stopped.
"""
import hashlib
import os

import cv2
import numpy as np

from core.common.errors import SettingError
from core.common.fileio import atomic_write, load_json, save_json
from core.recipes.training_recipe import DETECTION

from .augment import normalise_batch

ROW = 15  # probability, 4 box offsets, 10 point coordinates
CHUNK = 4096  # samples between progress records


def _file_digest(paths):
    h = hashlib.sha1()
    for path in paths:
        with open(path, 'rb') as f:
            for block in iter(lambda: f.read(1 << 20), b''):
                h.update(block)
    return h.hexdigest()


class Teacher:
    """A teacher net (``model``: the InferenceModel call interface), its input size and a key naming it."""

    def __init__(self, model, size, name, files):
        self.model, self.size, self.name, self.files = model, size, name, files

    @property
    def key(self):
        return _file_digest(self.files)[:12]


def open_teacher(spec, kind):
    """The :class:`Teacher` of a recipe's ``teacher`` text for a student of ``kind``."""
    if kind not in DETECTION:
        raise SettingError('teacher: distillation is for Pnets, Rnets and Onets, not a %s' % kind)
    if spec == 'caffe' or spec.startswith('caffe:'):
        from core.runtime.caffe_model import CAFFE_NETS, caffe_files, caffe_stage
        folder = spec.partition(':')[2] or None
        files = caffe_files(kind, folder)
        missing = [p for p in files if not os.path.isfile(p)]
        if missing:
            raise SettingError('teacher %s: %s not found' % (spec, missing[0]))
        return Teacher(caffe_stage(kind, folder), CAFFE_NETS[kind][1], 'Caffe MTCNN ' + os.path.basename(files[1]),
                       files)
    prefix, sep, epoch = spec.rpartition(':')
    if not sep or not epoch.isdigit():
        raise SettingError("teacher: 'caffe', 'caffe:<folder>' or '<checkpoint prefix>:<epoch>', got %r" % spec)
    from core.runtime.model_io import load_model, params_path
    path = params_path(prefix, int(epoch))
    if not os.path.isfile(path):
        raise SettingError('teacher %s: %s not found' % (spec, path))
    model = load_model(prefix, int(epoch))
    if model.info['kind'] != kind:
        raise SettingError('teacher %s is a %s; this stage trains a %s' % (spec, model.info['kind'], kind))
    return Teacher(model, model.info['size'], '%s (%s)' % (spec, model.network), [path])


def teacher_rows(teacher, crops):
    """The teacher's rows (N×15) on ``crops`` (N×S×S×3 uint8 BGR samples)."""
    if crops.shape[1] != teacher.size:
        crops = np.stack([cv2.resize(c, (teacher.size, teacher.size), interpolation=cv2.INTER_AREA) for c in crops])
    outs = teacher.model(normalise_batch(crops))
    n = len(crops)
    rows = np.full((n, ROW), np.nan, np.float32)
    rows[:, 0] = np.asarray(outs[0]).reshape(n, 2)[:, 1]
    rows[:, 1:5] = np.asarray(outs[1]).reshape(n, 4)
    if len(outs) > 2:
        rows[:, 5:] = np.asarray(outs[2]).reshape(n, -1)[:, :10]
    return rows


def cache_path(list_path, teacher):
    """Where the rows of ``teacher`` on the list ``list_path`` are kept."""
    key = hashlib.sha1((teacher.key + _file_digest([list_path])).encode()).hexdigest()[:12]
    return '%s.teacher-%s.npy' % (list_path, key)


def _fill(source, teacher, partial, state, batch, bar):
    n = len(source)
    rows = np.lib.format.open_memmap(partial, mode='r+')
    done = load_json(state)['done'] if os.path.isfile(state) else 0
    bar.update(done)
    while done < n:
        end = min(n, done + CHUNK)
        for lo in range(done, end, batch):
            hi = min(end, lo + batch)
            rows[lo:hi] = teacher_rows(teacher, np.stack([source.get(i)[0] for i in range(lo, hi)]))
            bar.update(hi - lo)
        rows.flush()
        done = end
        save_json(state, {'done': done})
    del rows


def _load(path, n, mmap_mode=None):
    """The N×15 rows stored at ``path``, or None (absent, unreadable or of another size)."""
    try:
        rows = np.load(path, mmap_mode=mmap_mode)
    except (OSError, ValueError, EOFError):
        return None
    return rows if rows.shape == (n, ROW) and rows.dtype == np.float32 else None


def teacher_targets(entries, size, spec, kind, list_path, batch=256, log=print, progress=True, rank=0):
    """The rows (N×15 float32) of the teacher ``spec`` on the samples of the training list ``list_path``
    (its :class:`core.train.batches.ListEntries` ``entries``, samples S×S), from the cache or computed
    now (and cached); ``log`` gets one line saying which and how long it took. ``rank``: a distributed
    worker's number, so workers sharing a folder fill their own partial files (the cache is replaced
    atomically with the same rows by each)."""
    import time
    from tqdm import tqdm
    from .batches import SampleSource
    teacher = open_teacher(spec, kind)
    path = cache_path(list_path, teacher)
    rows = _load(path, len(entries))
    if rows is not None:
        log('teacher %s: %d rows from %s' % (teacher.name, len(rows), path))
        return rows
    if os.path.isfile(path):
        log('teacher cache %s is unreadable or of another list: computed again' % path)
    partial = '%s.partial%s' % (path, '-%d' % rank if rank else '')
    partial, state = partial + '.npy', partial + '.json'
    if _load(partial, len(entries), mmap_mode='r') is None or not os.path.isfile(state):
        np.lib.format.open_memmap(partial, mode='w+', dtype=np.float32, shape=(len(entries), ROW)).flush()
        if os.path.isfile(state):
            os.remove(state)
    t0 = time.time()
    with tqdm(total=len(entries), desc='teacher', unit='sample', disable=not progress, leave=False) as bar:
        _fill(SampleSource(entries, size), teacher, partial, state, batch, bar)
    rows = np.load(partial)
    with atomic_write(path, 'wb') as f:
        np.save(f, rows)
    os.remove(partial)
    os.remove(state)
    log('teacher %s: %d rows in %.0f s (%.0f samples/s), cached in %s'
        % (teacher.name, len(rows), time.time() - t0, len(rows) / max(time.time() - t0, 1e-9), path))
    return rows


TEACHER_WIDTH = 17  # a batch's ``teacher`` input: has row, probability, 4 offsets, has points, 10 points


def teacher_input(rows):
    """Rows (N×15, NaN where absent) -> the loss graph's ``teacher`` input (N×17, no NaN): 1/0 has a
    row, probability, 4 offsets, 1/0 has points, 10 point coordinates."""
    out = np.zeros((len(rows), TEACHER_WIDTH), np.float32)
    has = ~np.isnan(rows[:, :5]).any(1)
    has_pts = has & ~np.isnan(rows[:, 5:]).any(1)
    out[:, 0], out[:, 6] = has, has_pts
    out[has, 1:6] = rows[has, :5]
    out[has_pts, 7:] = rows[has_pts, 5:]
    return out


def mirror_rows(rows, flags):
    """Rows of mirrored samples where ``flags``: offsets (dx1, dy1, dx2, dy2) -> (−dx2, dy1, −dx1, dy2),
    points mirrored and re-indexed (as :func:`core.train.augment.flip_batch` does to labels)."""
    from .augment import flip_batch
    rows = rows.copy()
    flags = np.asarray(flags, bool)
    if not flags.any():
        return rows
    pts = rows[:, 5:]
    has = ~np.isnan(pts).any(1)
    dummy = np.zeros((len(rows), 1, 1, 3), np.uint8)
    _, box, lm = flip_batch(dummy, flags, rows[:, 1:5], np.where(has[:, None], pts, 0), 5)
    rows[:, 1:5] = box
    rows[:, 5:] = np.where(has[:, None], lm, np.nan)
    return rows
