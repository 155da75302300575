"""Every command in the README's bash blocks runs as written from the repository root with the
project's Python first on PATH (as after ``source .venv/bin/activate``). Commands marked ``# long``
(full trainings, the pipeline on WIDER, the test suite itself) are exercised at a smaller scale by the
pipeline, training and landmark tests; commands that read ``../shared`` skip without it."""
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO, SHARED

README = os.path.join(REPO, 'README.md')


def readme_commands():
    text = open(README).read()
    out = []
    for block in re.findall(r'```bash\n(.*?)```', text, re.S):
        for cmd in re.sub(r'\\\n\s*', ' ', block).splitlines():
            cmd = cmd.strip()
            if not cmd or cmd.startswith('#') or cmd.startswith('source '):
                continue
            out.append(cmd)
    return out


COMMANDS = readme_commands()


def test_the_readme_has_commands_and_no_unfilled_parts():
    assert len(COMMANDS) > 10
    assert not re.search(r'^[A-Z_]{5,}$', open(README).read(), re.M), 'a placeholder was left in the README'


@pytest.mark.parametrize('cmd', [c for c in COMMANDS if '# long' not in c], ids=lambda c: c.split('#')[0][:60])
def test_readme_command_runs(cmd):
    if '../shared' in cmd and not os.path.isdir(SHARED):
        pytest.skip('reference data not available: %s' % SHARED)
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''))
    r = subprocess.run(['bash', '-c', cmd.split('  #')[0]], cwd=REPO, capture_output=True, text=True, env=env,
                       timeout=900)
    assert r.returncode == 0, (cmd, r.stdout[-1500:], r.stderr[-3000:])
