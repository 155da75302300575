"""Small native libraries compiled on first use for this machine and cached in ``build/``.

A library is built from one source file with the compiler named by ``CC`` / ``CXX`` (default ``cc`` /
``g++``) into ``build/<name>-<key>.so`` beside the code (``MTCNN_BUILD`` moves the folder), where the key
hashes the source, the compiler flags, this CPU's feature flags and whatever else the caller names; a
build writes its own temporary file and renames it into place, so concurrent builds are safe. No
compiler, or a failed build: :func:`compiled` raises ``OSError`` and the caller uses its Python path.
"""
import hashlib
import os
import subprocess
import tempfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # no config import: the
# deployed detector (tools/detect_onnx.py) runs without the training side


def cpu_flags():
    try:
        with open('/proc/cpuinfo') as f:
            return next((ln for ln in f if ln.startswith(('flags', 'Features'))), '')
    except OSError:
        return ''


def build_dir():
    return os.environ.get('MTCNN_BUILD', os.path.join(REPO_ROOT, 'build'))


def compiled(source, flags, extra_sources=(), cxx=False, key=''):
    """The path of ``source`` compiled into a shared library (built first when absent)."""
    compiler = os.environ.get('CXX', 'g++') if cxx else os.environ.get('CC', 'cc')
    with open(source) as f:
        text = f.read()
    digest = hashlib.sha1('\0'.join([text, compiler, ' '.join(flags), cpu_flags(), key]).encode()).hexdigest()[:12]
    name = os.path.splitext(os.path.basename(source))[0]
    path = os.path.join(build_dir(), '%s-%s.so' % (name, digest))
    if os.path.isfile(path):
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix='.so', dir=os.path.dirname(path))
    os.close(fd)
    try:
        try:
            r = subprocess.run([compiler, '-shared', '-fPIC'] + list(flags) + ['-o', tmp, source] + list(extra_sources),
                               capture_output=True, text=True)
        except OSError as exc:  # no compiler
            raise OSError('cannot run %s (%s)' % (compiler, exc.strerror or exc))
        if r.returncode:
            raise OSError('compiling %s failed: %s' % (source, (r.stderr or r.stdout).strip()[-500:]))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
