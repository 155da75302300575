"""Resumable, parallel, seeded per-image generation into a sample sink.

Work is a list of items (usually image indices); a picklable ``job(item, seed)`` returns
``(records, stats)`` with records ``(class, encoded crop bytes, label vector)``. Workers run jobs in
parallel; the main process writes results in item order, so the output does not depend on the
number of workers. A ``state.json`` checkpoint (written atomically every few items) records how
many items are done and how long each class file was; a rerun truncates back to it and goes on.
A finished run writes ``manifest.json``; its absence marks the folder as incomplete.

An item whose input is bad (a job raises :class:`core.common.errors.InputError`: an unreadable or
oversized image, a bad line) is skipped: counted in the stats (``skipped``), its first few messages
kept (``skipped_examples``) and printed by :func:`skip_summary`. Any other exception is a bug and stops
the run, which resumes after the last item stored.
"""
import os
import time

from tqdm import tqdm

from cli import say
from core.common.errors import InputError
from core.common.fileio import load_json, save_json
from core.common.lifecycle import deferred_signals, die_with_starter, mp_temp_dir, worker_context

from .writers import make_sink


_JOB = None
_PACK = False
EXAMPLES = 5  # skipped items named in the manifest and on the console


def guarded(job, item, seed):
    """``job(item, seed)``, or no records and a counted skip when the item's input is bad."""
    try:
        return job(item, seed)
    except InputError as exc:
        return [], {'skipped': 1, 'skipped_examples': [str(exc)]}


def _init_worker(job, pack_in_worker, mp_dir):
    global _JOB, _PACK
    die_with_starter(mp_dir)  # gone the moment the process that started us is
    import cv2
    cv2.setNumThreads(1)
    _JOB = job  # sent once per worker, not with every task
    _PACK = pack_in_worker


def _produce(job, item, seed, pack):
    """(records, stats, framed): with ``pack``, the records framed for a packed sink (only appended there)."""
    records, stats = guarded(job, item, seed)
    if pack:
        from .writers import PackedSink
        return PackedSink.prepare(records, item if isinstance(item, int) else 0), stats, True
    return records, stats, False


def _call(args):
    return _produce(_JOB, args[0], args[1], _PACK)


def _load_state(folder, manifest_path, state_path, config):
    """(finished manifest or None, interrupted-run state dict)."""
    if os.path.exists(manifest_path):
        done = load_json(manifest_path)
        if done.get('config') == config:
            return done, {}
        os.remove(manifest_path)
    state = load_json(state_path) if os.path.exists(state_path) else {}
    if state and state.get('config') != config:
        print('%s: settings changed since the interrupted run, starting over' % folder)
        state = {}
    return None, state


def _results(job, items, start, seed, workers, packed):
    """(pool or None, iterator of (records, stats, framed)) from item ``start`` on, in item order."""
    tasks = ((items[i], seed) for i in range(start, len(items)))
    if workers <= 1:
        return None, (_produce(job, item, s, packed) for item, s in tasks)
    pool = worker_context().Pool(workers, initializer=_init_worker, initargs=(job, packed, mp_temp_dir()))
    return pool, pool.imap(_call, tasks, chunksize=4)


def _store(sink, classes, records, framed, image_index):
    if framed:
        for cls in classes:
            if cls in records:
                sink.add_framed(cls, *records[cls])
        return
    k = {}
    for cls, data, label in records:
        k[cls] = k.get(cls, 0) + 1
        sink.add(cls, data, label, image_index, k[cls] - 1)


def _stop(pool, seconds=2.0):
    """``pool.terminate()``, bounded: interrupted in the middle of a run it can wait for ever on its
    task queue's lock (held by an idle worker blocked reading that queue); then the workers are killed
    and the process goes on, so that it exits, and its resource tracker with it, cleaning up after them.
    A terminate that works takes a fraction of a second, so the bound is short: a killed pipeline's
    stage must be gone within seconds (the kill tests allow 5)."""
    import threading
    t = threading.Thread(target=pool.terminate, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        for proc in list(getattr(pool, '_pool', [])):
            if proc.exitcode is None:
                proc.kill()
        say('data workers did not stop in %.0f s: killed' % seconds)
        return
    pool.join()


CHECKPOINT_SECONDS = float(os.environ.get('MTCNN_CHECKPOINT_SECONDS', 2.0))  # how often progress is saved


def run(job, items, folder, classes, config, fmt='packed', workers=1, seed=0, desc='samples',
        checkpoint_every=CHECKPOINT_SECONDS, manifest_name='manifest.json'):
    """Run ``job`` over ``items`` into ``folder``; returns the manifest dict.

    Several runs may share a folder (e.g. samples and mined hard negatives) with their own
    ``manifest_name`` and disjoint class files."""
    os.makedirs(folder, exist_ok=True)
    manifest_path = os.path.join(folder, manifest_name)
    state_path = os.path.join(folder, 'state_' + manifest_name)
    config = dict(config, format=fmt, seed=seed, n_items=len(items), classes=list(classes))
    finished, state = _load_state(folder, manifest_path, state_path, config)
    if finished:
        print('%s: already complete (%s), skipping' % (folder, finished['counts']))
        return finished
    done = start = state.get('done', 0)
    stats = state.get('stats', {})
    sink = make_sink(fmt, folder, classes, state.get('files'))
    if start:
        print('%s: resuming after %d of %d items' % (folder, start, len(items)))
    pool, results = _results(job, items, start, seed, workers, fmt == 'packed')
    last = time.time()
    bar = tqdm(total=len(items), initial=start, desc=desc, unit='img')

    def checkpoint():
        with deferred_signals():
            save_json(state_path, dict(config=config, done=done, files=sink.state(), stats=stats))
    try:
        for records, item_stats, framed in results:
            with deferred_signals():  # an item is written and counted whole, or not at all
                _store(sink, classes, records, framed, items[done] if isinstance(items[done], int) else done)
                for key, v in item_stats.items():
                    if key == 'skipped_examples':
                        stats[key] = (stats.get(key, []) + v)[:EXAMPLES]
                    else:
                        stats[key] = stats.get(key, 0) + v
                done += 1
            bar.update(1)
            if time.time() - last > checkpoint_every:
                checkpoint()
                last = time.time()
        manifest = dict(config=config, counts=sink.counts(), stats=stats, files=sink.state())
    except KeyboardInterrupt:
        checkpoint()
        say('\ninterrupted after %d of %d items; rerun the same command to resume' % (done, len(items)))
        raise SystemExit(130)
    finally:
        # the pool is stopped and the files closed whatever happens to the progress bar: when the reader
        # of our output is gone (a killed pipeline) its last write fails, and a pool left to the
        # interpreter's exit handlers could wait for ever
        try:
            bar.close()
        except OSError:
            pass
        finally:
            if pool:
                _stop(pool)
            sink.close()
    save_json(manifest_path, manifest)
    if os.path.exists(state_path):
        os.remove(state_path)
    return manifest


def skip_summary(manifest):
    """The console line about the items a run skipped (None when it skipped none)."""
    st = manifest.get('stats', {})
    if not st.get('skipped'):
        return None
    return 'skipped %d item(s) with bad input, e.g. %s' % (st['skipped'], '; '.join(st.get('skipped_examples', [])))
