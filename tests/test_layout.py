"""The package layout: imports point one way (config → symbols → core → cli → prepare_data, tools and
the entry points), so the networks and the library can be used without the command-line layers; inside
``core`` the packages grouped by job point one way too; file names are unique; no function is too tangled
to read."""
import ast
import collections
import os
import subprocess

from conftest import REPO

# what each layer may import from this repository (its own package is always allowed)
ALLOWED = {'config': set(), 'symbols': {'config'}, 'core': {'config', 'symbols'},
           'cli': {'config', 'symbols', 'core'},
           'prepare_data': {'config', 'symbols', 'core', 'cli'}}
LOCAL = {'config', 'symbols', 'core', 'cli', 'prepare_data', 'tools'}


def _modules():
    for layer in ('symbols', 'core', 'prepare_data'):
        for d, _, files in os.walk(os.path.join(REPO, layer)):
            for f in files:
                if f.endswith('.py'):
                    yield layer, os.path.join(d, f)
    yield 'config', os.path.join(REPO, 'config.py')
    yield 'cli', os.path.join(REPO, 'cli.py')


def _modules_imported(path):
    """The dotted names a file imports (relative imports resolved against its package)."""
    package = os.path.relpath(os.path.dirname(path), REPO).replace(os.sep, '.')
    out = set()
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split('.')[:len(package.split('.')) - node.level + 1] if node.level else []
            module = '.'.join(base + ([node.module] if node.module else []))
            out |= {module + '.' + a.name for a in node.names} if not node.module else {module}
    return out


def _imports(path):
    return {m.split('.')[0] for m in _modules_imported(path)} & LOCAL


# core's packages, each allowed to import the ones listed (its own always): common at the bottom, then
# the landmark conventions and the typed settings, the MXNet runtime, the export formats (and the
# runtimes that open them), detection, and training and evaluation on top
CORE = {'common': set(), 'landmarks': {'common'}, 'recipes': {'common'},
        'runtime': {'common', 'landmarks', 'recipes'},
        'export': {'common', 'landmarks', 'recipes', 'runtime'},
        'detect': {'common', 'landmarks', 'recipes', 'runtime', 'export'},
        'train': {'common', 'landmarks', 'recipes', 'runtime'},
        'evaluation': {'common', 'landmarks', 'recipes', 'runtime', 'export', 'detect'}}


def test_imports_point_one_way():
    wrong = []
    for layer, path in _modules():
        bad = _imports(path) - ALLOWED[layer] - {layer}
        if bad:
            wrong.append('%s imports %s' % (os.path.relpath(path, REPO), ', '.join(sorted(bad))))
    assert not wrong, wrong
    assert sum(1 for _ in _modules()) > 40  # the walk found the packages


def test_core_packages_import_one_way():
    wrong, found = [], set()
    for d, _, files in os.walk(os.path.join(REPO, 'core')):
        rel = os.path.relpath(d, os.path.join(REPO, 'core'))
        if rel == '.':
            assert [f for f in files if f.endswith('.py')] == ['__init__.py'], 'core/ holds packages only'
            continue
        pkg = rel.split(os.sep)[0]
        assert pkg in CORE, 'core/%s is not in the layout test' % pkg
        found.add(pkg)
        for f in files:
            if not f.endswith('.py'):
                continue
            for m in _modules_imported(os.path.join(d, f)):
                parts = m.split('.')
                if parts[0] == 'core' and len(parts) > 1 and parts[1] != pkg and parts[1] not in CORE[pkg]:
                    wrong.append('core/%s/%s imports %s' % (rel, f, m))
    assert found == set(CORE)
    assert not wrong, wrong


def test_file_names_are_unique():
    """A module's name says where it is (README.md and __init__.py aside)."""
    files = subprocess.run(['git', 'ls-files', '*.py'], cwd=REPO, capture_output=True, text=True).stdout.split()
    names = collections.Counter(os.path.basename(f) for f in files if os.path.basename(f) != '__init__.py')
    assert [n for n, c in names.items() if c > 1] == []


def test_no_function_is_too_complex():
    """Cyclomatic complexity (radon) of every function of the code at most 20."""
    from radon.complexity import cc_visit
    too = []
    for layer in ('symbols', 'core', 'prepare_data', 'tools'):
        for d, _, files in os.walk(os.path.join(REPO, layer)):
            for f in files:
                if f.endswith('.py'):
                    path = os.path.join(d, f)
                    too += ['%s:%s %d' % (os.path.relpath(path, REPO), b.name, b.complexity)
                            for b in cc_visit(open(path).read()) if b.complexity > 20]
    for f in os.listdir(REPO):
        if f.endswith('.py'):
            too += ['%s:%s %d' % (f, b.name, b.complexity) for b in cc_visit(open(os.path.join(REPO, f)).read())
                    if b.complexity > 20]
    assert too == []


def test_one_symbol_builder_and_one_training_loop():
    """Every network comes from one registry table and every trainer runs one loop."""
    import symbols
    from symbols.zoo import NETWORKS
    assert len(NETWORKS) >= 30 and all(symbols.get_symbol(name) is not None for name in ('Pnet20_v1', 'Onet_v2'))
    for script in ('train_P20.py', 'train_P16.py', 'train_R.py', 'train_O.py', 'train_L.py', 'train_L106.py'):
        text = open(os.path.join(REPO, script)).read()
        assert 'train_main' in text and 'def train' not in text, script
