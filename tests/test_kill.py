"""Killed commands leave nothing behind and resume: a trainer with data workers, gen_data.py,
gen_hard_example.py and tools/pipeline.py during each of those, interrupted by SIGKILL, SIGTERM and
Ctrl-C (SIGINT to the whole process group, as a terminal sends it). After each interruption no process
of the command's session may be alive 5 s later, nothing new may be in /dev/shm or the temp folder, Ctrl-C and SIGTERM end
in one line without a traceback, and the reruns end with the uninterrupted run's files, byte for byte.

Each command is interrupted in a chain (kill, rerun, kill the rerun, ...) so one test covers every
signal at the cost of about two runs."""
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid

import pytest

from conftest import REPO, processes_marked, leftover_entries

pytestmark = pytest.mark.skipif(not os.path.isdir('/proc'), reason='process checks read /proc')

PY = sys.executable
WORKERS = ['--workers', '2']


class Command:
    """Runs one command line in its own session, output to a log, every process marked."""

    def __init__(self, argv, log_dir):
        self.argv, self.log_dir, self.mark, self.n = argv, log_dir, uuid.uuid4().hex, 0
        self.shm_before = leftover_entries()

    def start(self, extra=()):
        self.n += 1
        self.log = os.path.join(self.log_dir, 'run%d.log' % self.n)
        env = dict(os.environ, MTCNN_TEST_MARK=self.mark, MTCNN_CHECKPOINT_SECONDS='0.05')
        with open(self.log, 'w') as out:
            return subprocess.Popen(self.argv + list(extra), cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                    env=env, start_new_session=True)

    def output(self):
        with open(self.log) as f:
            return f.read()

    def finish(self, extra=()):
        proc = self.start(extra)
        assert proc.wait(timeout=600) == 0, self.output()[-3000:]
        self.check_nothing_left('finished run')
        return self.output()

    def interrupt(self, how, ready, extra=(), limit=300):
        """Start, wait until ``ready()``, interrupt ``how`` ('kill', 'term' or 'int'), check what is left."""
        proc, t0 = self.start(extra), time.time()
        while not ready() and proc.poll() is None and time.time() - t0 < limit:
            time.sleep(0.02)
        assert proc.poll() is None, 'finished before it could be interrupted:\n' + self.output()[-2000:]
        if how == 'int':
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, signal.SIGKILL if how == 'kill' else signal.SIGTERM)
        rc = proc.wait(timeout=120)
        out = self.output()
        assert 'Traceback' not in out, out[-3000:]
        if how != 'kill':
            assert rc == 130, (how, rc, out[-2000:])
            said = [line for line in out.splitlines() if 'interrupted' in line]
            assert len(said) == 1, (how, said)
        self.check_nothing_left(how)
        return said[0] if how != 'kill' else ''

    def check_nothing_left(self, how):
        t0 = time.time()
        while processes_marked(self.mark) and time.time() - t0 < 5:
            time.sleep(0.1)
        left = processes_marked(self.mark)
        assert not left, (how, [open('/proc/%d/cmdline' % p).read().replace('\0', ' ')[:120] for p in left])
        assert not leftover_entries() - self.shm_before, (how, leftover_entries() - self.shm_before)


def _progress(state_path, after=0):
    """ready(): the state checkpoint of a sample/mining run records more than ``after`` finished items."""
    def ready():
        try:
            with open(state_path) as f:
                return json.load(f).get('done', 0) > after
        except (OSError, ValueError):
            return False
    return ready


def _done(state_path):
    with open(state_path) as f:
        return json.load(f)['done']


def _interrupt_in_turn(cmd, state, signals):
    """Interrupt ``cmd`` with each of ``signals`` in turn, each time once its run has made progress."""
    cmd.interrupt(signals[0], _progress(state))
    for how in signals[1:]:
        cmd.interrupt(how, _progress(state, _done(state)))


def _same_files(a, b, names):
    for name in names:
        with open(os.path.join(a, name), 'rb') as fa, open(os.path.join(b, name), 'rb') as fb:
            assert fa.read() == fb.read(), name


PIPELINE = ['--to', 'p_hard', '--config', 'scripts/recipes/demo.json', '--set', 'data.limit_images=100',
            '--set', 'p.train.phases.1.end_epoch=4', '--set', 'p.train.phases.1.lr_epoch=4',
            '--set', 'p.train.phases.1.batch_size=64', '--set', 'workers=2']


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    """The demo set run through the pipeline up to Pnet mining: the uninterrupted reference."""
    from prepare_data.demo_set import make_demo_set
    base = tmp_path_factory.mktemp('kill')
    make_demo_set(str(base / 'demo'), seed=0)
    ref = str(base / 'ref')
    out = Command(_pipeline(ref, base), str(base)).finish()
    assert 'p_hard        done' in out, out[-2000:]
    return dict(base=base, ref=ref, anno=os.path.join(ref, 'anno.txt'), pnet=os.path.join(ref, 'model', 'pnet20'))


def _pipeline(run, base):
    return [PY, 'tools/pipeline.py', '--run', run, '--wider_root', str(base / 'demo')] + PIPELINE


def test_killed_trainer_leaves_no_worker_and_resumes_exactly(tmp_path):
    from core.runtime.model_io import load_params
    from test_train import _tiny_data
    lst = _tiny_data(tmp_path, 24)

    def train(prefix):
        return [PY, 'train_P20.py', '--network', 'Pnet20_v1', '--image_set', lst, '--prefix', prefix,
                '--end_epoch', '4', '--lr_epoch', '2', '--batch_size', '64', '--quiet', '--seed', '1'] + WORKERS
    ref = str(tmp_path / 'ref' / 'p')
    Command(train(ref), str(tmp_path)).finish()
    cut = str(tmp_path / 'cut' / 'p')
    cmd = Command(train(cut), str(tmp_path))
    resume = ['--resume', '--begin_epoch', 'last']
    said = cmd.interrupt('int', lambda: os.path.exists(cut + '-0001.params'))
    assert re.search(r'to continue from epoch (\d), run the same command with --resume --begin_epoch \1', said), said
    cmd.interrupt('kill', lambda: os.path.exists(cut + '-0002.params'), resume)
    cmd.interrupt('term', lambda: os.path.exists(cut + '-0003.params'), resume)
    out = cmd.finish(resume)
    assert 'continuing the optimizer of epoch 3' in out, out[-2000:]
    want, _ = load_params(ref + '-0004.params')
    got, _ = load_params(cut + '-0004.params')
    for k in want:
        assert (want[k].asnumpy() == got[k].asnumpy()).all(), k


def test_killed_sample_generation_leaves_no_worker_and_resumes_to_the_same_bytes(demo, tmp_path):
    def gen(out):
        return [PY, 'prepare_data/gen_data.py', '--size', '20', '--base_num', '3', '--anno', demo['anno'],
                '--out', out] + WORKERS
    ref, cut = str(tmp_path / 'ref'), str(tmp_path / 'cut')
    Command(gen(ref), str(tmp_path)).finish()
    cmd = Command(gen(cut), str(tmp_path))
    _interrupt_in_turn(cmd, os.path.join(cut, '20', 'state_manifest.json'), ('kill', 'term', 'int'))
    assert 'resuming after' in cmd.finish()
    _same_files(os.path.join(ref, '20'), os.path.join(cut, '20'), [c + e for c in ('pos', 'part', 'neg')
                                                                   for e in ('.rec', '.idx')])


def test_killed_mining_leaves_no_worker_and_resumes_to_the_same_bytes(demo, tmp_path):
    def mine(out):
        return [PY, 'prepare_data/gen_hard_example.py', '--test_mode', 'hardpnet20', '--prefix', demo['pnet'],
                '--epoch', '4', '--thresh', '0.5', '--anno', demo['anno'], '--out', out, '--backend', 'onnx'] + WORKERS
    ref, cut = str(tmp_path / 'ref'), str(tmp_path / 'cut')
    Command(mine(ref), str(tmp_path)).finish()
    cmd = Command(mine(cut), str(tmp_path))
    _interrupt_in_turn(cmd, os.path.join(cut, '20', 'state_manifest_hard.json'), ('term', 'kill', 'int'))
    assert 'resuming after' in cmd.finish()
    _same_files(os.path.join(ref, '20'), os.path.join(cut, '20'), ['neg_hard.rec', 'neg_hard.idx'])


def test_killed_pipeline_stops_its_stage_and_resumes_to_the_same_result(demo, tmp_path):
    """Every signal in each of its stages kinds: sample generation, training, mining. SIGKILL of the
    pipeline alone: its stage learns of it only from the parent-death signal."""
    from core.runtime.model_io import load_params
    cut = str(tmp_path / 'cut')
    cmd = Command(_pipeline(cut, demo['base']), str(tmp_path))
    samples, model = os.path.join(cut, 'samples', '20'), os.path.join(cut, 'model', 'pnet20')
    for state in ('state_manifest.json', 'state_manifest_hard.json'):
        _interrupt_in_turn(cmd, os.path.join(samples, state), ('kill', 'int', 'term'))
        if 'hard' not in state:  # training: a new epoch saved is the progress
            for epoch, how in ((1, 'term'), (2, 'kill'), (3, 'int')):
                cmd.interrupt(how, lambda e=epoch: os.path.exists('%s-%04d.params' % (model, e)))
    status = json.load(open(os.path.join(cut, 'manifest.json')))['stages']['p_hard']['status']
    assert status == 'interrupted'
    out = cmd.finish()
    assert 'p_data        up to date' in out and 'p_train       up to date' in out and 'p_hard        running' in out
    assert 'resuming after' in open(os.path.join(cut, 'logs', 'p_hard.log')).read()
    _same_files(os.path.join(demo['ref'], 'samples', '20'), samples,
                [c + e for c in ('pos', 'part', 'neg', 'neg_hard') for e in ('.rec', '.idx')])
    want, _ = load_params(os.path.join(demo['ref'], 'model', 'pnet20-0004.params'))
    got, _ = load_params(model + '-0004.params')
    for k in want:
        assert (want[k].asnumpy() == got[k].asnumpy()).all(), k


def test_a_signal_inside_a_deferred_block_is_raised_as_it_ends():
    import threading
    from core.common.lifecycle import deferred_signals, terminate_as_interrupt
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        terminate_as_interrupt()
        done = []
        with pytest.raises(KeyboardInterrupt):
            with deferred_signals():
                # from another thread, as a pool's helper thread may receive a signal for the process
                threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGTERM)).start()
                time.sleep(0.2)
                done.append('the whole block ran')
        assert done == ['the whole block ran']
        with pytest.raises(KeyboardInterrupt):  # outside a block: at once
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
    finally:
        for s, h in saved.items():
            signal.signal(s, h)


def test_a_worker_cleans_up_for_a_starter_still_dying_when_its_pipe_closes(tmp_path, monkeypatch):
    """The kernel closes a killed process's pipes a moment before /proc shows it gone; the worker
    that sees the pipe close must wait for that moment and still remove the starter's folders (CI once
    found a ``pymp-*`` folder left after a SIGKILL)."""
    from core.common import lifecycle
    folder = tmp_path / 'pymp-test'
    folder.mkdir()
    r, w = os.pipe()
    answers = iter([False, False, False])
    monkeypatch.setattr(lifecycle, '_gone', lambda pid: next(answers, True))

    class Starter:
        sentinel, pid = r, 0
    os.close(w)
    lifecycle._wait_then_kill(Starter, 0, [str(folder)])  # signal 0: nothing is sent
    os.close(r)
    assert not folder.exists()


class _SlowMaker:
    """A batch maker whose batches take a while, so tasks are in flight when the workers die."""
    flip_double, size, n_points = False, 4, 5

    def __init__(self):
        self.source = list(range(64))

    def __call__(self, indices, rng):
        time.sleep(0.3)
        import numpy as np
        return dict(data=np.zeros((len(indices), 3, 4, 4), np.float32))


def test_a_group_sigterm_ends_as_an_interrupt_not_as_a_dead_worker():
    """A job scheduler's SIGTERM reaches the trainer and its data workers at once: the interrupt, not the
    workers' deaths, is what the trainer reports (then exit 130 and the resume line, as for a SIGTERM to
    the trainer alone)."""
    from core.train.batches import Loader
    loader = Loader(_SlowMaker(), 4, 0, 2)
    try:
        batches = loader.batches(0)
        next(batches)  # the pool runs, with more batches in flight
        for proc in loader._pool.procs:
            os.kill(proc.pid, signal.SIGTERM)
        time.sleep(0.5)
        with pytest.raises(KeyboardInterrupt):
            batches.throw(KeyboardInterrupt)
    finally:
        loader.close()


WORKER_MAIN = '''
import signal, sys
sys.path.insert(0, %r)
if __name__ == '__mp_main__':  # a worker importing the main module: the earliest code it runs
    print('worker import:', signal.getsignal(signal.SIGINT) is signal.SIG_IGN, flush=True)
from core.common.lifecycle import worker_context


def handler(_):
    return signal.getsignal(signal.SIGINT) is signal.SIG_IGN


if __name__ == '__main__':
    with worker_context().Pool(1) as pool:
        print('worker task:', pool.apply(handler, (0,)), flush=True)
    print('main:', signal.getsignal(signal.SIGINT) is signal.default_int_handler, flush=True)
'''


def test_pool_workers_ignore_ctrl_c_from_their_first_import(tmp_path):
    """Ctrl-C to a process group is the main process's to handle: a worker that is still importing the
    main module when it arrives must not print a traceback, so it ignores SIGINT from its first line
    (a pool initializer runs too late), and the main process keeps its own handler."""
    script = tmp_path / 'pool_main.py'
    script.write_text(WORKER_MAIN % REPO)
    out = subprocess.run([PY, str(script)], cwd=str(tmp_path), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split('\n')[:3] == ['worker import: True', 'worker task: True', 'main: True'], out.stdout
