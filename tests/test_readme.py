"""The documentation's commands: every fenced ``bash`` command and ``python`` block of the README, the
model card and ``docs/*.md`` (not the dated experiments, which name the commit they ran at) runs as written
from the repository root with the project's Python first on PATH. Commands marked ``# long`` (trainings,
full evaluations, the test suite itself) run only with ``MTCNN_LONG=1``; every command, long or not, names
only files and checkpoints that exist. The README stays a guide (a size budget, no commands hidden in
prose), and the model card says what its ``models.json`` says."""
import glob
import os
import re
import shlex
import subprocess
import sys

import pytest

from conftest import REPO, SHARED

README = os.path.join(REPO, 'README.md')
CARD = os.path.join(REPO, 'model', 'default')
CARDS = [CARD, os.path.join(REPO, 'model', 'distill')]  # the default cascade, then the second card entries
DOCS = [README] + [os.path.join(c, 'README.md') for c in CARDS] + sorted(glob.glob(os.path.join(REPO, 'docs', '*.md')))
README_BUDGET = 25_000  # bytes
LONG = os.environ.get('MTCNN_LONG') == '1'


def _blocks(path):
    text = open(path).read()
    return re.findall(r'```(bash|python)\n(.*?)```', text, re.S)


def doc_commands():
    """(doc, kind, command) of every command: one per bash line (continuations joined), one per python block."""
    out = []
    for path in DOCS:
        for kind, block in _blocks(path):
            if kind == 'python':
                out.append((path, 'python', block))
                continue
            for cmd in re.sub(r'\\\n\s*', ' ', block).splitlines():
                cmd = cmd.strip()
                if cmd and not cmd.startswith(('#', 'source ')):
                    out.append((path, 'bash', cmd))
    return out


COMMANDS = doc_commands()


def _id(c):
    return '%s: %s' % (os.path.relpath(c[0], REPO), c[2].split('#')[0].strip()[:60])


def test_the_docs_have_commands_and_no_unfilled_parts():
    assert len([c for c in COMMANDS if c[0] == README]) > 10
    for path in DOCS:
        assert not re.search(r'^[A-Z_]{5,}$', open(path).read(), re.M), 'a placeholder was left in %s' % path


@pytest.mark.parametrize('cmd', COMMANDS, ids=_id)
def test_doc_command_runs(cmd):
    path, kind, text = cmd
    if '# long' in text and not LONG:
        pytest.skip('long: MTCNN_LONG=1 runs it')
    if '../shared' in text and not os.path.isdir(SHARED):
        pytest.skip('reference data not available: %s' % SHARED)
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''))
    argv = [sys.executable, '-c', text] if kind == 'python' else ['bash', '-c', text.split('  #')[0]]
    r = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, env=env, timeout=3600 if LONG else 900)
    assert r.returncode == 0, (text, r.stdout[-1500:], r.stderr[-3000:])


# flags whose value a command writes (its outputs need not exist)
OUTPUTS = {'--out', '--run', '--json', '--save_dets', '--drop_outliers', '--anno_out', '--write'}
CHECKED = ('model/', '../shared/', 'scripts/', 'tools/', 'prepare_data/', 'docs/', 'core/')


def _named_files(cmd):
    """The repository and reference files a command reads (paths under CHECKED, and each --prefix's
    checkpoint at its --epoch)."""
    try:
        argv = shlex.split(cmd.split('  #')[0])
    except ValueError:
        return []
    files = []
    for k, tok in enumerate(argv):
        if k and ((argv[k - 1] in OUTPUTS and argv[k - 1] != '--write') or argv[k - 1] in ('--prefix', '--lnet')):
            continue
        for part in tok.split(','):
            if part.startswith(CHECKED) and not part.startswith('../shared/models/') and '*' not in part:
                files.append(part)
    if '--prefix' in argv and '--epoch' in argv:
        prefixes = argv[argv.index('--prefix') + 1].split(',')
        epochs = argv[argv.index('--epoch') + 1].split(',')
        for p, e in zip(prefixes, epochs):
            if p.startswith(('model/', '../shared/')) and e.isdigit():
                files.append('%s-%04d.params' % (p, int(e)))
    if '--lnet' in argv:
        prefix, _, epoch = argv[argv.index('--lnet') + 1].rpartition(',')
        if prefix.startswith(('model/', '../shared/')) and epoch.isdigit():
            files.append('%s-%04d.params' % (prefix, int(epoch)))
    return files


@pytest.mark.parametrize('cmd', COMMANDS, ids=_id)
def test_doc_command_names_files_that_exist(cmd):
    path, kind, text = cmd
    if kind == 'python':
        return
    for f in _named_files(text):
        if f.startswith('../shared/') and not os.path.isdir(SHARED):
            continue
        assert os.path.exists(os.path.join(REPO, f)), '%s: %s names %s, which does not exist' % (
            os.path.relpath(path, REPO), text, f)


def test_the_readme_is_a_guide():
    """Under its size budget, and no command hidden in prose: a `python ...` command is fenced (run by the
    tests) or not there."""
    assert os.path.getsize(README) <= README_BUDGET, os.path.getsize(README)
    for path in DOCS:
        prose = re.sub(r'```.*?```', '', open(path).read(), flags=re.S)
        inline = re.findall(r'`((?:python|bash) [^`]+)`', prose)
        assert not inline, '%s: commands in prose, fence them: %s' % (os.path.relpath(path, REPO), inline[:3])


@pytest.mark.parametrize('folder', CARDS, ids=os.path.basename)
def test_the_model_card_says_what_models_json_says(folder):
    from tools.publish_models import stale_blocks
    assert stale_blocks(folder) == []
    card = open(os.path.join(folder, 'README.md')).read()
    assert card.count('<!-- card:') == 3  # nets, operating points, WIDER val
