"""The package layout: imports point one way (config → symbols → core → cli → prepare_data, tools and
the entry points), so the networks and the library can be used without the command-line layers."""
import ast
import os

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


def _imports(path):
    out = set()
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.Import):
            out |= {a.name.split('.')[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split('.')[0])
    return out & LOCAL


def test_imports_point_one_way():
    wrong = []
    for layer, path in _modules():
        bad = _imports(path) - ALLOWED[layer] - {layer}
        if bad:
            wrong.append('%s imports %s' % (os.path.relpath(path, REPO), ', '.join(sorted(bad))))
    assert not wrong, wrong
    assert sum(1 for _ in _modules()) > 40  # the walk found the packages


def test_one_symbol_builder_and_one_training_loop():
    """Every network comes from one registry table and every trainer runs one loop."""
    import symbols
    from symbols.zoo import NETWORKS
    assert len(NETWORKS) >= 30 and all(symbols.get_symbol(name) is not None for name in ('Pnet20_v1', 'Onet_v2'))
    for script in ('train_P20.py', 'train_P16.py', 'train_R.py', 'train_O.py', 'train_L.py', 'train_L106.py'):
        text = open(os.path.join(REPO, script)).read()
        assert 'train_main' in text and 'def train' not in text, script
