"""Training data: list files -> augmented batches, built in worker processes.

A training list line is either a packed reference ``<file>.rec#<record> <code>`` (written by
``prepare_data/gen_imglist.py``; paths relative to the list) or the original's
``<path without .jpg> <code> [4 box offsets | 10 landmarks]``. Codes: 1 positive, 0 negative,
−1 part, −2 landmark.

As the original, the index space is doubled (index ≥ N = the same sample flipped), reshuffled every
epoch, and the last partial batch dropped. Every random draw of a batch comes from
``seed, epoch, batch`` only, so results do not depend on the number of workers and a resumed run
sees exactly the batches an uninterrupted one would.
"""
import dataclasses
import logging
import mmap
import os
import queue
import shutil
import tempfile
import typing

import cv2
import numpy as np

from .augment import black_border, flip_batch, normalise_batch, transform_batch
from .teacher import TEACHER_WIDTH, mirror_rows, teacher_input
from core.common.fileio import LABEL_CODES, LANDMARK, NEGATIVE, PART, POSITIVE, FormatError, parse_floats, split_path
from core.common.lifecycle import die_with_starter, mp_temp_dir, worker_context
from core.common.packed import RecordReader, decode_image
from core.recipes.training_recipe import StageRecipe
from core.common.errors import SettingError


class DataError(FormatError):
    """A malformed list line or sample (the message names file and line)."""


# values after the label code: none (negatives), 4 box offsets, 10 or 212 landmark values
_TAIL = {POSITIVE: (4,), PART: (4,), NEGATIVE: (0, 4), LANDMARK: (10, 212)}


class ListEntries:
    """The entries of a training list, held compactly: per line a source id, a record index (−1 for a
    JPEG line) and a label code in arrays (13 bytes a line; a full-WIDER list has millions), the values
    of JPEG lines in a list. ``entries[i]`` is ``(source, record index or None, code, values)``; packed
    lines have no values (their labels are in the records)."""

    _NONE = np.zeros(0, np.float32)

    def __init__(self, sources, src, rec, code, values=None, val_id=None, teacher=None):
        self.sources, self.src, self.rec, self.code = sources, src, rec, code
        self.values, self.val_id = values or [], val_id
        self.teacher = teacher  # N×15 rows of a teacher net (core.train.teacher), or None

    def __len__(self):
        return len(self.code)

    def __getitem__(self, i):
        rec = int(self.rec[i])
        values = self._NONE if self.val_id is None or self.val_id[i] < 0 else self.values[self.val_id[i]]
        return self.sources[self.src[i]], (rec if rec >= 0 else None), int(self.code[i]), values

    def take(self, indices):
        """The entries at ``indices`` (in that order), as a new ListEntries."""
        indices = np.asarray(indices, np.int64)
        return ListEntries(self.sources, self.src[indices], self.rec[indices], self.code[indices], self.values,
                           None if self.val_id is None else self.val_id[indices],
                           None if self.teacher is None else self.teacher[indices])


def read_sample_list(path):
    """The :class:`ListEntries` of a training list (paths may contain spaces)."""
    from array import array
    if not os.path.isfile(path):
        raise FileNotFoundError('training list not found: %s' % path)
    base = os.path.dirname(os.path.abspath(path))
    sources, source_id = [], {}
    src, rec, codes, val_id = array('i'), array('q'), array('b'), array('i')
    values_of = []
    with open(path) as f:
        for k, line in enumerate(f, 1):
            if not line.strip():
                continue
            ref, numbers = split_path(line)
            if not numbers:
                raise DataError('%s:%d: truncated line (need a sample and a label code)' % (path, k))
            code_text, values = numbers[0], parse_floats(numbers[1:], path, k)
            try:
                code = int(code_text)
            except ValueError:
                raise DataError('%s:%d: the label code must be an integer, got %r' % (path, k, code_text))
            if code not in LABEL_CODES:
                raise DataError('%s:%d: unknown label code %d (1, 0, -1, -2)' % (path, k, code))
            if '.rec#' in ref:
                name, _, idx = ref.rpartition('#')
                name = os.path.normpath(os.path.join(base, name))
                if name not in source_id:
                    source_id[name] = len(sources)
                    sources.append(name)
                src.append(source_id[name])
                rec.append(int(idx))
                val_id.append(-1)
            else:
                if len(values) not in _TAIL[code]:
                    raise DataError('%s:%d: a sample with label %d needs %s values after the label, got %d'
                                    % (path, k, code, ' or '.join(map(str, _TAIL[code])), len(values)))
                src.append(len(sources))
                sources.append(ref + '.jpg')
                rec.append(-1)
                val_id.append(len(values_of))
                values_of.append(np.array(values, np.float32))
            codes.append(code)
    if not codes:
        raise DataError('%s: empty training list' % path)
    arr = lambda a, t: np.frombuffer(a, t).copy()  # noqa: E731
    return ListEntries(sources, arr(src, np.int32), arr(rec, np.int64), arr(codes, np.int8), values_of,
                       arr(val_id, np.int32) if values_of else None)


class SampleSource:
    """Reads (crop, code, bbox, landmarks) for list entries; packed readers opened lazily."""

    def __init__(self, entries, size, n_points=5):
        self.entries, self.size, self.n_points = entries, size, n_points
        self._readers = {}

    def __len__(self):
        return len(self.entries)

    def _reader(self, path):
        r = self._readers.get(path)
        if r is None:
            r = self._readers[path] = RecordReader(path)
        return r

    def get(self, i):
        src, idx, code, values = self.entries[i]
        if idx is not None:
            label, _, _, buf = self._reader(src).read(idx)
            img = decode_image(buf)
            values = label[1:]
        else:
            img = cv2.imread(src)
        if img is None:
            raise DataError('cannot decode sample %s%s' % (src, '' if idx is None else '#%d' % idx))
        if img.shape[:2] != (self.size, self.size):
            raise DataError('sample %s%s is %dx%d, expected %dx%d' % (src, '' if idx is None else '#%d' % idx,
                                                                     img.shape[1], img.shape[0], self.size, self.size))
        bbox = np.zeros(4, np.float32)
        lm = np.zeros(2 * self.n_points, np.float32)
        if code in (POSITIVE, PART):
            bbox = values[:4]
        elif code == LANDMARK:
            lm = values[:2 * self.n_points]
        return img, code, bbox, lm

    def __getstate__(self):
        state = dict(self.__dict__)
        state['_readers'] = {}
        return state


def batch_rng(seed, epoch, batch):
    """The random stream of one batch (depends only on seed, epoch and batch number)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), int(epoch), int(batch)])))


class BatchMaker:
    """Builds one batch from sample indices (index ≥ N means flipped)."""

    def __init__(self, source, augment=True, flip_double=True, black_border=False, cfg=None):
        self.source, self.augment, self.flip_double, self.black_border = source, augment, flip_double, black_border
        self.cfg = _with_defaults(cfg)
        self.gray, self.jitter, self.noise = (self.cfg[k] for k in ('enable_gray', 'enable_color_jitter',
                                                                     'enable_gaussian_noise'))

    def plain(self):
        """The same samples without augmentation or flips."""
        return BatchMaker(self.source, False, False, False, self.cfg)

    def __call__(self, indices, rng):
        n = len(self.source)
        items = [self.source.get(int(i) % n) for i in indices]
        imgs = np.stack([it[0] for it in items])
        codes = np.array([it[1] for it in items], np.float32)
        bbox = np.stack([it[2] for it in items]).astype(np.float32)
        lm = np.stack([it[3] for it in items]).astype(np.float32)
        if self.augment and self.black_border:
            imgs = black_border(imgs, codes, rng)
        flags = np.asarray(indices) >= n
        if flags.any():
            imgs, bbox, lm = flip_batch(imgs, flags, bbox, lm if lm.any() else None, self.source.n_points)
            if lm is None:
                lm = np.zeros((len(items), 2 * self.source.n_points), np.float32)
        data = transform_batch(imgs, rng, self.gray, self.jitter, self.noise) if self.augment \
            else normalise_batch(imgs)
        label = np.where(codes == LANDMARK, PART, codes).astype(np.float32)  # no class for landmark samples
        batch = dict(data=data, label=label, bbox_target=bbox, landmark_target=lm, type_label=codes)
        rows = getattr(self.source.entries, 'teacher', None)
        if rows is not None:
            batch['teacher'] = teacher_input(mirror_rows(rows[np.asarray(indices) % n], flags))
        return batch


# --- worker processes writing batches into shared slots -------------------------------------------

def _slot_dir():
    return '/dev/shm' if os.path.isdir('/dev/shm') and os.access('/dev/shm', os.W_OK) else tempfile.gettempdir()


def _write_slot(buf, batch):
    """Copy a batch dict into a slot buffer; returns its layout, or None if it does not fit."""
    layout, off = [], 0
    for k, v in batch.items():
        v = np.ascontiguousarray(v)
        if off + v.nbytes > len(buf):
            return None
        np.frombuffer(buf, np.uint8, v.nbytes, off)[:] = v.view(np.uint8).ravel()
        layout.append((k, v.dtype.str, v.shape, off))
        off += -(-v.nbytes // 64) * 64
    return layout


def _read_slot(buf, layout):
    return {k: np.frombuffer(buf, np.dtype(dt), int(np.prod(shape)), off).reshape(shape)
            for k, dt, shape, off in layout}


class BatchTask(typing.NamedTuple):
    """One batch to build: its sample indices and the seed, epoch and number its random draws come from."""
    indices: np.ndarray
    seed: int
    epoch: int
    number: int


class _Job(typing.NamedTuple):
    """A task for a worker and the shared slot it writes the batch into."""
    slot: int
    task: BatchTask


class _Built(typing.NamedTuple):
    """A worker's answer: the batch number and slot, the batch's layout in the slot (or the batch itself
    when it did not fit), or the error that stopped it."""
    number: int
    slot: int
    layout: object = None
    batch: object = None
    error: str = None


def _worker(maker, tasks, results, slot_paths, leftovers):
    die_with_starter(*leftovers)  # gone the moment the process that started us is
    cv2.setNumThreads(1)
    maps = []
    for path in slot_paths:
        with open(path, 'r+b') as f:
            maps.append(mmap.mmap(f.fileno(), 0))
    results.put(None)  # mapped: the files may go
    while True:
        job = tasks.get()
        if job is None:
            return
        t = job.task
        try:
            batch = maker(t.indices, batch_rng(t.seed, t.epoch, t.number))
            layout = _write_slot(maps[job.slot], batch)
            results.put(_Built(t.number, job.slot, layout, None if layout is not None else batch))
        except Exception as exc:  # reported in the training process, with the message
            results.put(_Built(t.number, job.slot, error='%s: %s' % (type(exc).__name__, exc)))


class _WorkerPool:
    """``n`` processes, each building batches into one of ``n_slots`` shared-memory slots; at most
    ``n_slots`` batches are in flight (bounded memory), results come back in order. Slot buffers
    are memory-mapped files (``/dev/shm`` where it exists, unlinked as soon as every worker has
    mapped them), so batches cross processes without pickling; a batch that does not fit its slot
    is sent through the queue instead."""

    def __init__(self, maker, n, slot_bytes, n_slots):
        ctx = worker_context()
        self.dir = tempfile.mkdtemp(prefix='mtcnn-batches-', dir=_slot_dir())
        paths = [os.path.join(self.dir, 'slot%d' % i) for i in range(n_slots)]
        self.maps = []
        for path in paths:
            with open(path, 'w+b') as f:
                f.truncate(slot_bytes)
                self.maps.append(mmap.mmap(f.fileno(), 0))
        self.tasks, self.results = ctx.Queue(), ctx.Queue()
        self.procs = [ctx.Process(target=_worker, args=(maker, self.tasks, self.results, paths,
                                                       (mp_temp_dir(), self.dir)), daemon=True)
                      for _ in range(n)]
        for proc in self.procs:
            proc.start()
        self.closed = False
        for _ in self.procs:  # once every worker has mapped the slots, unlink them: nothing leaks
            self._get()       # even if this process is killed
        shutil.rmtree(self.dir, ignore_errors=True)

    def run(self, tasks):
        """Yield the batches of ``tasks`` in order; a yielded batch stays valid until the next one."""
        pending, free, ready, held, in_flight = iter(tasks), list(range(len(self.maps))), {}, None, 0
        try:
            for want in [t.number for t in tasks]:
                while free:
                    t = next(pending, None)
                    if t is None:
                        break
                    self.tasks.put(_Job(free.pop(), t))
                    in_flight += 1
                while want not in ready:
                    built = self._get()
                    in_flight -= 1
                    if built.error:
                        raise DataError('batch %d: %s' % (built.number, built.error))
                    ready[built.number] = built
                if held is not None:
                    free.append(held)
                built = ready.pop(want)
                held = built.slot
                yield built.batch if built.batch is not None else _read_slot(self.maps[built.slot], built.layout)
        except (KeyboardInterrupt, DataError):
            # the run stops and the pool goes with it: nothing to wait for (a Ctrl-C or a SIGTERM to the
            # whole process group has stopped the workers too, whose deaths must not replace the interrupt)
            self.closed = True
            raise
        finally:
            while in_flight and not self.closed:  # let started tasks finish: no write into a reused slot
                self._get()
                in_flight -= 1

    def _get(self):
        while True:
            try:
                return self.results.get(timeout=5)
            except queue.Empty:
                dead = [p.exitcode for p in self.procs if not p.is_alive()]
                if dead:
                    raise DataError('a data worker died (exit code %s)' % dead[0])

    def close(self):
        self.closed = True
        for _ in self.procs:
            self.tasks.put(None)
        for proc in self.procs:
            proc.join(timeout=2)
            if proc.is_alive():
                proc.terminate()
        for m in self.maps:
            try:
                m.close()
            except BufferError:  # a batch view is still alive; the mapping goes with it
                pass


class Loader:
    """Epoch iterator of batches built by ``workers`` processes (0 = in this process).

    A batch from worker processes lives in a shared slot: it stays valid until the next batch is
    requested (copy what must outlive it)."""

    def __init__(self, maker, batch_size, seed, workers, shuffle=True, shard=(0, 1), drop_last=True,
                 prefetch=2):
        self.maker, self.batch_size, self.seed = maker, int(batch_size), int(seed)
        self.shuffle, self.drop_last = shuffle, drop_last
        n = len(maker.source) * (2 if maker.flip_double else 1)
        self.indices = np.arange(n, dtype=np.int32 if n < 2 ** 31 else np.int64)  # the order is that of int64
        self.rank, self.parts = shard
        self.workers = workers
        self.prefetch = prefetch
        self._pool = None

    def __len__(self):
        n = len(self.indices) // self.parts
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    @property
    def num_samples(self):
        return len(self.indices)

    def _slot_bytes(self):
        size = getattr(self.maker, 'size', None) or getattr(self.maker.source, 'size', 0)
        n_points = getattr(self.maker, 'n_points', None) or getattr(self.maker.source, 'n_points', 5)
        per_sample = 4 * (3 * size * size + 7 + 2 * n_points + TEACHER_WIDTH)
        return self.batch_size * per_sample + 64 * 8

    def batches(self, epoch):
        order = self.indices
        if self.shuffle:
            order = np.random.RandomState(np.random.SeedSequence([self.seed, epoch]).generate_state(1)[0]) \
                .permutation(order)
        order = order[self.rank::self.parts]  # distributed: each worker its own shard
        nb = len(self)
        tasks = [BatchTask(order[b * self.batch_size:(b + 1) * self.batch_size], self.seed, epoch, b)
                 for b in range(nb)]
        if self.workers <= 0:
            for t in tasks:
                yield self.maker(t.indices, batch_rng(t.seed, t.epoch, t.number))
            return
        if self._pool is None:
            self._pool = _WorkerPool(self.maker, self.workers, self._slot_bytes(), self.workers + self.prefetch + 1)
        yield from self._pool.run(tasks)

    def close(self):
        if self._pool is not None:
            self._pool.close()
            self._pool = None


FRAMINGS = next(f for f in dataclasses.fields(StageRecipe) if f.name == 'framing').metadata['choices']


class LandmarkOnlineMaker:
    """Landmark-only training with online augmentation: every list line gives one freshly rotated,
    cropped, flipped and blurred sample per epoch (106 points: flip, upright pre-rotation, eyebrow and
    lip weighting and the grey side band as config.py's switches say). Without ``augment`` (the
    validation split) the crop is the unrotated face square.

    ``framing='box'`` (5 points; each sample's box is the detector's final box for that face, as
    ``prepare_data/landmark_boxes.py`` writes it): crops framed as the detector frames them
    (:func:`core.train.augment.box_crop5`: the detector's exact crop without ``augment``, a slightly shifted,
    scaled and rotated one with it) instead of the original's random 0.5–2.5× crops."""

    flip_double = False

    def __init__(self, samples, size, n_points, augment=True, cfg=None, framing=None, jitter=None):
        cfg = _with_defaults(cfg)
        framing = framing or cfg['framing']
        jitter = cfg['box_jitter'] if jitter is None else jitter
        if framing not in FRAMINGS:
            raise SettingError('unknown landmark framing %r (%s)' % (framing, ', '.join(FRAMINGS)))
        if framing == 'box' and n_points != 5:
            raise SettingError("framing='box' is for 5-point lists")
        if len(jitter) != 3:
            raise SettingError('box jitter takes 3 values (shift, scale, rotation), got %r' % (jitter,))
        self.source = _Sized(samples, n_points)
        self.size, self.n_points, self.augment = size, n_points, augment
        self.cfg = cfg
        self.framing, self.jitter = framing, tuple(float(v) for v in jitter)

    def plain(self):
        """The same samples without augmentation."""
        return LandmarkOnlineMaker(self.source.samples, self.size, self.n_points, False, self.cfg, self.framing,
                                   self.jitter)

    def _sample(self, img, box, pts, rng):
        from .augment import blur, box_crop5, online_crop5, online_crop106, side_border, weight_points
        from core.landmarks.points import flip_points
        c = self.cfg
        lo, hi = c['min_rot_angle'], c['max_rot_angle']
        if self.framing == 'box':
            if box is None:
                raise DataError("framing='box' needs a box per face (a celeba-format list of detector boxes)")
            x, y, bw, bh = box
            crop, norm = box_crop5(img, pts, (x, y, x + bw - 1, y + bh - 1), self.size, rng if self.augment else None,
                                   *self.jitter)
            flip = self.augment
        elif self.n_points == 5:
            crop, norm = online_crop5(img, pts, self.size, rng, box, lo, hi) if self.augment else \
                _face_square(img, pts, self.size, box)
            flip = self.augment
        else:
            crop, norm = online_crop106(img, pts, self.size, rng, lo, hi, c['landmark106_migu_init_rot']) \
                if self.augment else _face_square(img, pts, self.size)
            flip = self.augment and c['landmark106_migu_random_flip']
        if flip and rng.random() < 0.5:
            crop, norm = crop[:, ::-1].copy(), flip_points(norm)
        if self.n_points == 106 and c['landmark106_migu_weighting']:
            norm = weight_points(norm)
        if self.augment and c['enable_blur'] and c['photometric']:
            crop = blur(crop, rng)
        if self.augment and self.n_points == 106 and c['enable_black_border']:
            crop = side_border(crop, rng)
        return crop, norm

    def __call__(self, indices, rng):
        from core.landmarks.points import to_vector
        imgs, targets = [], []
        for i in indices:
            path, box, pts = self.source.samples[int(i)]
            img = cv2.imread(path)
            if img is None:
                raise DataError('cannot read landmark image %s' % path)
            crop, norm = self._sample(img, box, pts, rng)
            imgs.append(crop)
            targets.append(to_vector(norm))
        imgs = np.stack(imgs)
        c = self.cfg
        photometric = self.augment and c['photometric']
        data = transform_batch(imgs, rng, c['enable_gray'], c['enable_color_jitter'],
                               c['enable_gaussian_noise']) if photometric else normalise_batch(imgs)
        n = len(imgs)
        return dict(data=data, label=np.zeros(n, np.float32), bbox_target=np.zeros((n, 4), np.float32),
                    landmark_target=np.stack(targets).astype(np.float32), type_label=np.full(n, LANDMARK, np.float32))


def _face_square(img, pts, size, box=None):
    """The deterministic crop for validation: a face crop (5 points with no box: the whole image, as the
    CUHK crops are) or the unrotated square around the points."""
    from .augment import _fallback
    from core.landmarks.points import normalise
    h, w = img.shape[:2]
    if len(pts) == 5 and box is None:
        return cv2.resize(img, (size, size)), normalise(pts, 0, 0, 1) / [w, h]
    if len(pts) == 5:
        x, y, bw, bh = box
        return _fallback(img, pts, (x + bw / 2.0, y + bh / 2.0), max(bw, bh), size)
    lo, hi = pts.min(0), pts.max(0)
    return _fallback(img, pts, (lo + hi) / 2.0, 1.2 * max(hi - lo), size)


class _Sized:
    def __init__(self, samples, n_points):
        self.samples, self.n_points = samples, n_points

    def __len__(self):
        return len(self.samples)


def _with_defaults(cfg):
    """A batch maker's switches: those given, the recipe defaults for the rest
    (:meth:`core.recipes.training_recipe.StageRecipe.augment`)."""
    return {**StageRecipe().augment(), **(cfg or {})}


def _held_out(items, ratio, rng):
    order = rng.permutation(len(items))
    n_val = int(len(items) * ratio)
    if isinstance(items, ListEntries):
        return items.take(np.sort(order[n_val:])), items.take(order[:n_val])
    return [items[i] for i in np.sort(order[n_val:])], [items[i] for i in order[:n_val]]


def target_stats(maker, seed, count=2000):
    """(mean, std) per coordinate of the landmark targets of up to ``count`` seeded samples of a
    maker's source, cut without augmentation (std floored at 1e-3)."""
    plain = maker.plain()
    n = len(plain.source)
    idx = np.sort(np.random.RandomState(seed).permutation(n)[:count])
    batch = plain(idx, np.random.default_rng(seed))
    t = batch['landmark_target'][batch['type_label'] == LANDMARK]
    if len(t) == 0:
        raise DataError('no landmark samples to take target statistics from')
    return t.mean(0), np.maximum(t.std(0), 1e-3)


def make_loaders(s, info, shard=(0, 1)):
    """(training loader, validation loader or None) of a run's :class:`core.train.trainer.Settings`.

    With a ``s.recipe.teacher``, every sample of a sample list carries the teacher's row
    (:mod:`core.train.teacher`: computed once per list and cached beside it).

    Sample lists give :class:`BatchMaker` batches (flip-doubled epochs unless ``s.recipe.flip`` is off);
    ``s.recipe.online`` landmark lists give :class:`LandmarkOnlineMaker` batches. The validation data is
    ``s.run.val_list`` or a seeded held-out ``s.recipe.val_ratio`` of the training list."""
    cfg = s.recipe.augment()
    n_points = info['n_points'] if info['kind'] == 'lnet' else 5
    rng = np.random.RandomState(s.recipe.seed)
    if s.recipe.online:
        from core.landmarks.points import read_landmark_list as read_landmarks
        samples = read_landmarks(s.recipe.image_set, s.recipe.list_format, s.run.image_root, s.recipe.min_landmark_size)
        if s.run.val_list:
            train, val = samples, read_landmarks(s.run.val_list, s.recipe.list_format, s.run.image_root, s.recipe.min_landmark_size)
        else:
            train, val = _held_out(samples, s.recipe.val_ratio, rng)
        tmaker = LandmarkOnlineMaker(train, info['size'], n_points, True, cfg)
        vmaker = LandmarkOnlineMaker(val, info['size'], n_points, False, cfg) if val else None
    else:
        entries = read_sample_list(s.recipe.image_set)
        if s.recipe.teacher:
            from .teacher import teacher_targets
            entries.teacher = teacher_targets(entries, info['size'], s.recipe.teacher, info['kind'], s.recipe.image_set,
                                              log=logging.getLogger('train').info, progress=not s.run.quiet,
                                              rank=shard[0])
        if s.run.val_list:
            val = read_sample_list(s.run.val_list)
        else:
            entries, val = _held_out(entries, s.recipe.val_ratio, rng)
        tmaker = BatchMaker(SampleSource(entries, info['size'], n_points), True, s.recipe.flip, cfg['enable_black_border'], cfg)
        vmaker = BatchMaker(SampleSource(val, info['size'], n_points), False, False, False, cfg) if val else None
    train_loader = Loader(tmaker, s.phase.batch_size, s.recipe.seed, s.run.workers, True, shard)
    if len(train_loader) == 0:
        raise DataError('%s: fewer samples (%d) than one batch of %d' % (s.recipe.image_set, train_loader.num_samples,
                                                                        s.phase.batch_size))
    val_loader = Loader(vmaker, min(s.phase.batch_size, len(vmaker.source)), s.recipe.seed, 0, False, drop_last=False) \
        if vmaker is not None and len(vmaker.source) else None
    return train_loader, val_loader
