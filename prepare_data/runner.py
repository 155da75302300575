"""Resumable, parallel, seeded per-image generation into a sample sink.

Work is a list of items (usually image indices); a picklable ``job(item, seed)`` returns
``(records, stats)`` with records ``(class, jpeg bytes, label vector)``. Workers run jobs in
parallel; the main process writes results in item order, so the output does not depend on the
number of workers. A ``state.json`` checkpoint (written atomically every few items) records how
many items are done and how long each class file was; a rerun truncates back to it and goes on.
A finished run writes ``manifest.json``; its absence marks the folder as incomplete.
"""
import multiprocessing as mp
import os
import signal
import sys
import time

from tqdm import tqdm

from .writers import load_json, make_sink, save_json


_JOB = None
_PACK = False


def _init_worker(job, pack_in_worker=False):
    global _JOB, _PACK
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process handles Ctrl-C
    import cv2
    cv2.setNumThreads(1)
    _JOB = job  # sent once per worker, not with every task
    _PACK = pack_in_worker


def _call(args):
    item, seed = args
    records, stats = _JOB(item, seed)
    if _PACK:  # frame the records here so the writing process only appends bytes
        from .writers import PackedSink
        return PackedSink.prepare(records, item if isinstance(item, int) else 0), stats, True
    return records, stats, False


def run(job, items, folder, classes, config, fmt='packed', workers=1, seed=0, desc='samples',
        checkpoint_every=2.0, manifest_name='manifest.json'):
    """Run ``job`` over ``items`` into ``folder``; returns the manifest dict.

    Several runs may share a folder (e.g. samples and mined hard negatives) with their own
    ``manifest_name`` and disjoint class files."""
    os.makedirs(folder, exist_ok=True)
    manifest_path = os.path.join(folder, manifest_name)
    state_path = os.path.join(folder, 'state_' + manifest_name)
    config = dict(config, format=fmt, seed=seed, n_items=len(items), classes=list(classes))
    if os.path.exists(manifest_path):
        done = load_json(manifest_path)
        if done.get('config') == config:
            print('%s: already complete (%s), skipping' % (folder, done['counts']))
            return done
        os.remove(manifest_path)
    state = {}
    if os.path.exists(state_path):
        state = load_json(state_path)
        if state.get('config') != config:
            print('%s: settings changed since the interrupted run, starting over' % folder)
            state = {}
    start = state.get('done', 0)
    stats = state.get('stats', {})
    sink = make_sink(fmt, folder, classes, state.get('files'))
    if start:
        print('%s: resuming after %d of %d items' % (folder, start, len(items)))
    tasks = ((items[i], seed) for i in range(start, len(items)))
    if workers > 1:
        # forkserver: never fork a process that may hold MXNet/OpenMP locks (that can deadlock)
        pool = mp.get_context('forkserver').Pool(workers, initializer=_init_worker, initargs=(job, fmt == 'packed'))
        results = pool.imap(_call, tasks, chunksize=4)
    else:
        pool = None
        results = (job(item, s) + (False,) for item, s in tasks)
    done, last = start, time.time()
    bar = tqdm(total=len(items), initial=start, desc=desc, unit='img')
    try:
        for records, item_stats, framed in results:
            if framed:
                for cls in classes:
                    if cls in records:
                        sink.add_framed(cls, *records[cls])
            else:
                k = {}
                for cls, jpeg, label in records:
                    k[cls] = k.get(cls, 0) + 1
                    sink.add(cls, jpeg, label, items[done] if isinstance(items[done], int) else done, k[cls] - 1)
            for key, v in item_stats.items():
                stats[key] = stats.get(key, 0) + v
            done += 1
            bar.update(1)
            if time.time() - last > checkpoint_every:
                save_json(state_path, dict(config=config, done=done, files=sink.state(), stats=stats))
                last = time.time()
    except KeyboardInterrupt:
        bar.close()
        save_json(state_path, dict(config=config, done=done, files=sink.state(), stats=stats))
        sink.close()
        if pool:
            pool.terminate()
        print('\ninterrupted after %d of %d items; rerun the same command to resume' % (done, len(items)),
              file=sys.stderr)
        raise SystemExit(130)
    bar.close()
    if pool:
        pool.close()
        pool.join()
    files = sink.state()
    counts = sink.counts()
    sink.close()
    manifest = dict(config=config, counts=counts, stats=stats, files=files)
    save_json(manifest_path, manifest)
    if os.path.exists(state_path):
        os.remove(state_path)
    return manifest
