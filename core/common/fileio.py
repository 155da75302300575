"""Files: atomic writes, the list-line layouts of the original, and one error type naming file:line.

Every output (lists, annotations, detections, checkpoints, plots) goes through :func:`atomic_write`:
written to a temporary file beside the target, flushed to disk, then renamed over it, so a reader
sees the old file or the whole new one, never half of it, and a failed write (full disk, killed
process) leaves no temporary file behind.

List lines start with a path and end with numbers (``<path> x1 y1 x2 y2 ...``,
``<path> <code> [values]``). Paths may contain spaces: :func:`split_path` takes the path as
everything up to the last token that is not a number, so the original's files still read as
before and a checkout under ``/home/me/my data/`` works.
"""
import contextlib
import json
import math
import os
import re
import tempfile

from .errors import InputError

# Label codes of sample lists: positive, negative, part face, landmark sample.
POSITIVE, NEGATIVE, PART, LANDMARK = 1, 0, -1, -2
LABEL_CODES = (POSITIVE, NEGATIVE, PART, LANDMARK)

_NUMBER = re.compile(r'^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^[-+]?(inf|nan)$', re.IGNORECASE)


class FormatError(InputError):
    """Malformed input; the message starts with ``file:line:`` where a line is known."""


def where(path, line=None):
    return '%s:%d' % (path, line) if line else str(path)


def is_number(token):
    return bool(_NUMBER.match(token))


def split_path(line):
    """(path, [number tokens]) of ``<path with spaces> n1 n2 ...``; numbers are kept as text."""
    tokens = line.split()
    k = len(tokens)
    while k > 1 and is_number(tokens[k - 1]):
        k -= 1
    if not tokens:
        return '', []
    # the path is what precedes the trailing numbers, with its inner spaces restored
    head = line.strip()
    numbers = tokens[k:]
    if numbers:
        cut = len(head)
        for tok in reversed(numbers):
            cut = head.rindex(tok, 0, cut)
        head = head[:cut].rstrip()
    return head, numbers


def parse_floats(tokens, path, line, what='value'):
    """Finite floats of ``tokens``; a clear error naming file:line otherwise."""
    out = []
    for tok in tokens:
        try:
            v = float(tok)
        except ValueError:
            raise FormatError('%s: non-numeric %s %r' % (where(path, line), what, tok))
        if not math.isfinite(v):
            raise FormatError('%s: non-finite %s %r' % (where(path, line), what, tok))
        out.append(v)
    return out


_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def _replacing(path):
    """A temporary path beside ``path`` that replaces it when the block ends without an error; on any
    error (including Ctrl-C) the temporary file is removed and ``path`` is left as it was."""
    folder = os.path.dirname(os.path.abspath(path)) or '.'
    os.makedirs(folder, exist_ok=True)
    base, ext = os.path.splitext(os.path.basename(path))
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % base, suffix='.tmp' + ext, dir=folder)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the mode open() would
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


@contextlib.contextmanager
def scratch_file(suffix=''):
    """A path for a library that only writes files, left nowhere on disk: on Linux an anonymous
    in-memory file (``/proc/self/fd/N`` of a memfd, gone with the process however it ends); elsewhere
    a temporary file removed when the block ends."""
    if hasattr(os, 'memfd_create') and os.path.isdir('/proc/self/fd'):
        fd = os.memfd_create('mtcnn-scratch' + suffix)
        try:
            yield '/proc/self/fd/%d' % fd
        finally:
            os.close(fd)
        return
    fd, tmp = tempfile.mkstemp(prefix='mtcnn-scratch-', suffix=suffix)
    os.close(fd)
    try:
        yield tmp
    finally:
        with contextlib.suppress(OSError):
            os.remove(tmp)


@contextlib.contextmanager
def atomic_write(path, mode='w', **kw):
    """``with atomic_write(p) as f: f.write(...)`` — the file appears whole or not at all."""
    with _replacing(path) as tmp:
        with open(tmp, mode, **kw) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


def atomic_call(path, write):
    """Atomic version of a writer that takes a file name (``write(tmp_path)``), e.g. ``mx.nd.save``;
    the temporary name keeps the extension, for writers that choose a format by it."""
    with _replacing(path) as tmp:
        write(tmp)


def write_lines(path, lines):
    with atomic_write(path) as f:
        for ln in lines:
            f.write(ln + '\n')


def save_json(path, data, **kw):
    with atomic_write(path) as f:
        json.dump(data, f, indent=1, **kw)
        f.write('\n')


def load_json(path, what='JSON file'):
    """Parsed JSON, or a :class:`FormatError` naming the file (and line) of a broken one."""
    if not os.path.isfile(path):
        raise FileNotFoundError('%s not found: %s' % (what, path))
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as exc:
        raise FormatError('%s: not valid JSON (%s)' % (where(path, exc.lineno), exc.msg))
    except UnicodeDecodeError:
        raise FormatError('%s: not a text file' % path)
