"""A resumable run of command-line stages with a manifest (used by tools/pipeline.py).

Every stage is a command of this toolkit run in a subprocess; its key hashes its command line and
the previous stage's key, and ``<run>/manifest.json`` records each stage's key, status, time and the
last line it printed. A rerun skips finished stages whose key is unchanged, redoes a stage whose
settings or inputs changed (and everything after it), and resumes an interrupted training stage
from its last checkpoint. A stage writes its whole output to ``<run>/logs/<stage>.log`` while the
console shows its progress every few seconds.

Signals: Ctrl-C / SIGTERM are forwarded to the running stage (which saves what it can), the manifest
marks it interrupted and the runner exits 130 without a traceback. A stage dies with the runner
(SIGKILL included), and a rerun first stops a stage that an earlier, killed runner left running.
"""
import dataclasses
import hashlib
import json
import os
import re
import signal
import subprocess
import threading
import time

from .fileio import load_json, save_json
from .lifecycle import PARENT_ENV, alive, preexec_die_with_parent
from .errors import SettingError


@dataclasses.dataclass
class Stage:
    name: str
    argv: list
    outputs: list
    checkpoint: tuple = None  # (prefix, end epoch) of a training stage, to resume it
    fingerprint: str = ''     # what the command reads besides its flags (a training stage: its resolved recipe)
    writes: dict = None       # {path: text} written (atomically, when different) before the command runs


class StageFailed(RuntimeError):
    pass


def stage_key(name, argv, previous, fingerprint=''):
    return hashlib.sha1(json.dumps([name, argv[1:], previous] + ([fingerprint] if fingerprint else []))
                        .encode()).hexdigest()[:16]


def resume_epoch(stage, entry, key):
    """Last epoch an interrupted run of this very stage (same key) saved with its optimizer state."""
    if not stage.checkpoint or entry.get('key') != key or entry.get('status') == 'done':
        return 0
    prefix, end = stage.checkpoint
    done = [e for e in range(1, end) if os.path.exists('%s-%04d.params' % (prefix, e))
            and os.path.exists('%s-%04d.states' % (prefix, e))]
    return max(done) if done else 0


_PROGRESS = re.compile(r'((?:[\w/ ]+: *)?\d+%\|[^\r\n]*|Epoch\[\d+\][^\r\n]*|[a-z_ ]+\d+ [^\r\n]*recall[^\r\n]*)')


class _Output:
    """Copies a stage's output to its log and shows its latest progress every ``every`` seconds."""

    def __init__(self, proc, log_path, name, show, every=15.0):
        self.proc, self.name, self.show, self.every = proc, name, show, every
        self.last_line, self.latest, self.shown = '', '', time.time()
        self.log = open(log_path, 'w')
        self.thread = threading.Thread(target=self._pump, daemon=True)
        self.thread.start()

    def _pump(self):
        buf = ''
        for chunk in iter(lambda: self.proc.stdout.read(256), ''):
            self.log.write(chunk)
            buf += chunk
            parts = re.split(r'[\r\n]', buf)
            buf = parts.pop()
            for p in parts:
                if p.strip():
                    self.last_line = p.strip()
                    m = _PROGRESS.search(p)
                    if m:
                        self.latest = m.group(1).strip()
            if self.latest and time.time() - self.shown > self.every:
                self.show('[pipeline] %-13s ... %s' % (self.name, self.latest[:100]))
                self.shown, self.latest = time.time(), ''
        self.log.flush()

    def close(self):
        self.thread.join(timeout=10)
        self.log.close()


def run_command(argv, cwd, log_path, name, show=print, on_start=None):
    """Run one stage; returns (exit code, last output line, pid). Signals reach the stage, which
    dies with this process; ``on_start(pid)`` is called once it runs."""
    env = dict(os.environ, **{PARENT_ENV: str(os.getpid()), 'PYTHONUNBUFFERED': '1'})
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True, preexec_fn=preexec_die_with_parent if os.name == 'posix' else None)
    if on_start:
        on_start(proc.pid)
    out = _Output(proc, log_path, name, show)
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def forward(signum, frame):
        # to the stage alone: it stops its own workers (a signal to its whole group would kill its
        # multiprocessing forkserver under a pool that is still running)
        try:
            proc.send_signal(signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)
        except ProcessLookupError:
            pass
        raise KeyboardInterrupt
    try:
        for s in previous:
            signal.signal(s, forward)
        try:
            code = proc.wait()
        except KeyboardInterrupt:
            try:
                code = proc.wait(timeout=60)  # let the stage save its state
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                code = proc.wait()
            raise
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        out.close()
    return code, out.last_line, proc.pid


def _stop_leftover(entry, log):
    """Stop a stage an earlier runner left running (the runner was killed, the stage was not)."""
    pid = entry.get('pid')
    if entry.get('status') == 'running' and pid and alive(pid):
        try:
            os.killpg(int(pid), signal.SIGTERM)
            log('[pipeline] stopped a stage left running by an earlier run (pid %s)' % pid)
            for _ in range(100):
                if not alive(pid):
                    break
                time.sleep(0.1)
        except (ProcessLookupError, PermissionError):
            pass


def run_stages(run, stages, cwd, start=None, only=None, log=print, extra=None):
    """Run ``stages`` (a list of :class:`Stage`) in ``run``; returns the manifest."""
    os.makedirs(os.path.join(run, 'logs'), exist_ok=True)
    man_path = os.path.join(run, 'manifest.json')
    manifest = load_json(man_path, 'pipeline manifest') if os.path.exists(man_path) else {'stages': {}}
    manifest.update(extra or {})
    names = [s.name for s in stages]
    for flag in (start, only):
        if flag and flag not in names:
            raise SettingError('unknown stage %r (stages: %s)' % (flag, ', '.join(names)))
    for entry in manifest['stages'].values():
        _stop_leftover(entry, log)
    previous, forced = '', False
    for stage in stages:
        key = previous = stage_key(stage.name, stage.argv, previous, stage.fingerprint)
        forced = forced or start == stage.name
        entry = manifest['stages'].get(stage.name, {})
        done = entry.get('key') == key and entry.get('status') == 'done' and all(map(os.path.exists, stage.outputs))
        if (only and stage.name != only) or (done and not forced and not only):
            if not only:
                log('[pipeline] %-13s up to date (%.0f s)' % (stage.name, entry.get('seconds', 0)))
            continue
        _run_stage(stage, key, entry, forced, run, cwd, manifest, man_path, log)
    return manifest


def _write_inputs(stage):
    """The files a stage reads that the pipeline writes (a training stage's recipe), when they differ."""
    from .fileio import atomic_write
    for path, text in (stage.writes or {}).items():
        if os.path.isfile(path):
            with open(path) as f:
                if f.read() == text:
                    continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with atomic_write(path) as f:
            f.write(text)


def _run_stage(stage, key, entry, forced, run, cwd, manifest, man_path, log):
    argv = stage.argv
    _write_inputs(stage)
    resume = resume_epoch(stage, entry, key) if not forced else 0
    if resume:
        argv = argv + ['--resume', '--begin_epoch', str(resume)]
    log('[pipeline] %-13s %s: %s' % (stage.name, 'resuming at epoch %d' % resume if resume else 'running',
                                     ' '.join(os.path.basename(a) if os.path.isabs(a) else a for a in argv[1:6]) + ' ...'))
    t0 = time.time()
    def started(pid):
        manifest['stages'][stage.name] = dict(key=key, status='running', started=t0, pid=pid)
        save_json(man_path, manifest)
    started(None)
    try:
        code, last, _ = run_command(argv, cwd, os.path.join(run, 'logs', stage.name + '.log'), stage.name, log,
                                    on_start=started)
    except KeyboardInterrupt:
        manifest['stages'][stage.name] = dict(key=key, status='interrupted', seconds=time.time() - t0)
        save_json(man_path, manifest)
        raise
    seconds = time.time() - t0
    if code != 0:
        manifest['stages'][stage.name] = dict(key=key, status='failed', seconds=seconds, summary=last)
        save_json(man_path, manifest)
        raise StageFailed('stage %s failed (exit %d): %s; see %s' % (stage.name, code, last[:200],
                                                                      os.path.join(run, 'logs', stage.name + '.log')))
    manifest['stages'][stage.name] = dict(key=key, status='done', seconds=seconds, outputs=stage.outputs, summary=last)
    save_json(man_path, manifest)
    log('[pipeline] %-13s done in %.0f s: %s' % (stage.name, seconds, last[:110]))


def plan_lines(stages):
    """``<stage>\\t<command line>`` per stage (paths as given, arguments quoted when needed)."""
    import shlex
    return ['%s\t%s' % (s.name, ' '.join(shlex.quote(a) for a in ['python'] + s.argv[1:])) for s in stages]
