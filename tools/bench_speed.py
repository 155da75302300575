"""Training and mining speed, this checkout against an older commit, in alternating rounds.

    python tools/bench_speed.py --old f455874 --rounds 3

This machine's speed swings (up to 2x within an hour on shared CPUs), so the two code versions are
run turn about, round after round, on the same data, and each ratio is taken within a round. Per stage:

- training samples/s of ``train_P20.py`` / ``train_R.py`` / ``train_O.py`` (the median of the
  trainer's Speedometer lines, ``--steps`` batches of one epoch), with the multiply-adds per sample
  (forward) and the achieved rate (forward + backward = 3x forward), and its share of a measured
  one-convolution rate (MXNet, a 3x3 conv of 32 -> 32 channels at 48x48, forward and backward);
- mining images/s of ``gen_hard_example.py`` P->R (``--test_mode rnet``) and P+R->O (``onet``) on the
  first ``--images`` training images, ONNX backend, the default workers: whole runs, start-up
  included; the two versions' mined files are compared byte for byte;
- with ``--ceiling``, each training stage a third time, this checkout with every training PReLU replaced by a
  ReLU (``tools/relu_ceiling.py``): the fastest any PReLU could train in MXNet 1.9 here, as a ratio to old.

Data (WIDER FACE train images of ``--wider_root``; samples, lists) is built once into ``--work``
(default: a temporary folder, removed at the end). The old commit is checked out with ``git
worktree`` into a temporary folder, removed at the end. Mining uses ``--models`` (default: the
committed ``model/default``). Ends with one ``key=value`` line per figure.
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402
from config import REPO_ROOT, config  # noqa: E402

STAGES = {'P': ('train_P20.py', 20, 'Pnet20_v1', 256), 'R': ('train_R.py', 24, 'Rnet_v1', 256),
          'O': ('train_O.py', 48, 'Onet_v1', 256)}
MINING = {'P->R': ('rnet', ['pnet20'], '0.3'), 'P+R->O': ('onet', ['pnet20', 'rnet'], '0.3,0.3')}
SPEED = re.compile(r'Speed: ([0-9.]+) samples/sec')


def sh(cmd, cwd, log=None, env=None):
    """Run ``cmd`` (a list) in ``cwd``; (seconds, output). A failure is an error with its output's tail."""
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       env=dict(os.environ, MXNET_SUBGRAPH_BACKEND='NONE', **(env or {})))
    dt = time.perf_counter() - t
    if log:
        with open(log, 'a') as f:
            f.write('$ %s\n%s\n' % (' '.join(cmd), p.stdout))
    if p.returncode:
        raise RuntimeError('%s failed (%d):\n%s' % (' '.join(cmd), p.returncode, p.stdout[-3000:]))
    return dt, p.stdout


def build_data(work, wider_root, images, steps):
    """Samples and lists at 20/24/48 from the first ``images`` train images; each list repeated to at
    least ``steps`` batches."""
    py = sys.executable
    anno = os.path.join(work, 'anno.txt')
    if not os.path.exists(anno):
        sh([py, 'prepare_data/gen_anno_and_train_list.py', '--wider_root', wider_root, '--anno', anno, '--list',
            os.path.join(work, 'train.txt')], REPO_ROOT)
    lists = {}
    for stage, (_, size, _, batch) in STAGES.items():
        out = os.path.join(work, 'list_%d.txt' % size)
        if not os.path.exists(out):
            sh([py, 'prepare_data/gen_data.py', '--size', str(size), '--base_num', '1', '--anno', anno, '--out',
                os.path.join(work, 'samples'), '--limit', str(images), '--seed', '0'], REPO_ROOT)
            one = os.path.join(work, 'one_%d.txt' % size)
            sh([py, 'prepare_data/gen_imglist.py', '--size', str(size), '--base_num', '1', '--samples',
                os.path.join(work, 'samples'), '--out', one, '--seed', '0'], REPO_ROOT)
            with open(one) as f:
                lines = f.readlines()
            need = (steps + 2) * batch
            with open(out + '.part', 'w') as f:
                f.writelines((lines * (need // len(lines) + 1))[:need])
            os.replace(out + '.part', out)
        lists[stage] = out
    return anno, lists


def train_speed(repo, stage, image_set, work, tag, log):
    script, _, network, batch = STAGES[stage]
    prefix = os.path.join(work, 'runs', tag, stage.lower())
    shutil.rmtree(os.path.dirname(prefix), ignore_errors=True)
    wrap = [os.path.join('tools', 'relu_ceiling.py')] if tag == 'ceiling' else []
    _, out = sh([sys.executable] + wrap + [script, '--network', network, '--image_set', image_set, '--prefix', prefix,
                 '--end_epoch', '1', '--batch_size', str(batch), '--frequent', '10', '--no_flip', '--quiet',
                 '--lr', '0.01'], repo, log)
    speeds = [float(v) for v in SPEED.findall(out)]
    if len(speeds) < 2:
        raise RuntimeError('%s: no Speedometer lines in its output (see %s)' % (script, log))
    return statistics.median(speeds[1:])  # the first window holds the start-up


def mine_speed(repo, mode, anno, images, models, work, tag, log):
    test_mode, nets, thresh = MINING[mode]
    import json
    with open(os.path.join(models, 'models.json')) as f:
        card = json.load(f)
    epochs = [str(card['epoch'][card['prefix'].index(n)]) for n in nets]
    out = os.path.join(work, 'mined', tag, test_mode)
    shutil.rmtree(out, ignore_errors=True)
    dt, _ = sh([sys.executable, 'prepare_data/gen_hard_example.py', '--test_mode', test_mode, '--prefix',
                ','.join(os.path.join(models, n) for n in nets), '--epoch', ','.join(epochs), '--thresh', thresh,
                '--anno', anno, '--out', out, '--limit', str(images), '--backend', 'onnx'], repo, log)
    return images / dt, out


def same_files(a, b):
    import filecmp
    names = sorted(n for n in os.listdir(a) if n.endswith(('.rec', '.idx')))
    return names == sorted(n for n in os.listdir(b) if n.endswith(('.rec', '.idx'))) and \
        all(filecmp.cmp(os.path.join(a, n), os.path.join(b, n), shallow=False) for n in names)


def conv_rate():
    """GMAC/s of one 3x3 convolution, 32 -> 32 channels, 48x48, batch 64, forward and backward, in MXNet
    with the threads MXNet runs by default here."""
    import mxnet as mx
    x = mx.nd.random.uniform(shape=(64, 32, 48, 48))
    w = mx.nd.random.uniform(shape=(32, 32, 3, 3))
    x.attach_grad()
    w.attach_grad()
    macs = 3 * 64 * 32 * 32 * 9 * 46 * 46  # forward, and backward to data and to weights
    best = 0
    for _ in range(5):
        t = time.perf_counter()
        with mx.autograd.record():
            y = mx.nd.Convolution(x, w, kernel=(3, 3), num_filter=32, no_bias=True)
        y.backward()
        mx.nd.waitall()
        best = max(best, macs / (time.perf_counter() - t) / 1e9)
    return best


def macs_per_sample(network):
    from symbols import get_symbol, network_info
    from symbols.op_count import count_ops
    size = network_info(network)['size']
    return count_ops(get_symbol(network, 'test'), (1, 3, size, size))


def _checkout(old, where):
    sh(['git', 'worktree', 'add', '--detach', where, old], REPO_ROOT)


def run_rounds(args, stages, repos, anno, lists, work, log):
    """Every stage, old and new turn about (and the ReLU bound with ``--ceiling``), ``args.rounds`` times;
    returns ({stage: {'old': [...], 'new': [...]}}, {stage: [ReLU samples/s]})."""
    results = {s: {'old': [], 'new': []} for s in stages}
    ceiling = {s: [] for s in stages if s in STAGES and args.ceiling}
    for r in range(args.rounds):
        order = ['old', 'new'] if r % 2 == 0 else ['new', 'old']
        for s in stages:
            mined = {}
            for tag in order:
                if s in STAGES:
                    v = train_speed(repos[tag], s, lists[s], work, tag, log)
                else:
                    v, mined[tag] = mine_speed(repos[tag], s, anno, args.images, args.models, work, tag, log)
                results[s][tag].append(v)
                print('round %d %-6s %-3s %9.1f %s' % (r + 1, s, tag, v, 'samples/s' if s in STAGES else 'images/s'),
                      flush=True)
            if s in ceiling:
                ceiling[s].append(train_speed(REPO_ROOT, s, lists[s], work, 'ceiling', log))
                print('round %d %-6s ReLU %8.1f samples/s (upper bound)' % (r + 1, s, ceiling[s][-1]), flush=True)
            if mined and not same_files(mined['old'], mined['new']):
                raise RuntimeError('%s: the two versions mined different files (%s, %s)' % (s, mined['old'],
                                                                                          mined['new']))
    return results, ceiling


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--old', required=True, help='the commit to compare with (e.g. f455874, before the speed work)')
    ap.add_argument('--rounds', type=cli.number(int, low=1), default=3)
    ap.add_argument('--images', type=cli.number(int, low=1), default=200, help='train images mined per pass')
    ap.add_argument('--steps', type=cli.number(int, low=12), default=60, help='training batches per stage')
    ap.add_argument('--stages', default='P,R,O,P->R,P+R->O', help='what to measure')
    ap.add_argument('--wider_root', default=None, help='WIDER FACE root (default: <shared>/data/widerface)')
    ap.add_argument('--models', default=os.path.join(REPO_ROOT, 'model', 'default'), help='models mining uses')
    ap.add_argument('--work', default=None, help='keep data and logs in this folder (default: temporary)')
    ap.add_argument('--ceiling', action='store_true', help='also train each stage with ReLU in place of PReLU '
                                                            '(an upper bound)')
    args = ap.parse_args(argv)
    wider = args.wider_root or os.path.join(config.shared, 'data', 'widerface')
    if not os.path.isdir(os.path.join(wider, 'WIDER_train')):
        ap.error('--wider_root %s: no WIDER_train folder there' % wider)
    stages = cli.csv_list(args.stages)
    unknown = [s for s in stages if s not in STAGES and s not in MINING]
    if unknown:
        ap.error('--stages: unknown %s (%s)' % (', '.join(unknown), ', '.join(list(STAGES) + list(MINING))))
    work = os.path.abspath(args.work or tempfile.mkdtemp(prefix='bench-speed-'))
    os.makedirs(work, exist_ok=True)
    old_tree = tempfile.mkdtemp(prefix='bench-speed-old-')
    os.rmdir(old_tree)
    log = os.path.join(work, 'bench.log')
    try:
        _checkout(args.old, old_tree)
        anno, lists = build_data(work, wider, args.images, args.steps)
        results, ceiling = run_rounds(args, stages, {'old': old_tree, 'new': REPO_ROOT}, anno, lists, work, log)
        report(results, conv_rate(), ceiling)
    finally:
        subprocess.run(['git', 'worktree', 'remove', '--force', old_tree], cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(old_tree, ignore_errors=True)
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def report(results, conv, ceiling=None):
    print('one 3x3 conv, forward+backward: %.1f GMAC/s' % conv)
    print('%-7s %10s %10s %7s %9s %9s %7s' % ('', 'old', 'new', 'ratio', 'GMAC/s', 'share', 'rounds'))
    for s, r in results.items():
        ratios = [n / o for o, n in zip(r['old'], r['new'])]
        old, new = statistics.median(r['old']), statistics.median(r['new'])
        rate = share = ''
        if s in STAGES:
            g = 3 * macs_per_sample(STAGES[s][2]) * new / 1e9
            rate, share = '%.1f' % g, '%.0f %%' % (100 * g / conv)
        print('%-7s %10.1f %10.1f %6.2fx %9s %9s %7s' % (s, old, new, statistics.median(ratios), rate, share,
                                                        ' '.join('%.2f' % x for x in ratios)))
    for s, c in (ceiling or {}).items():
        print('%-7s ReLU in place of PReLU (upper bound): %.1f samples/s, %.2fx old (rounds %s)' % (
            s, statistics.median(c), statistics.median([v / o for o, v in zip(results[s]['old'], c)]),
            ' '.join('%.2f' % (v / o) for o, v in zip(results[s]['old'], c))))
    for s, r in results.items():
        key = s.replace('->', '_to_').replace('+', '').lower()
        print('%s_ratio=%.2f' % (key, statistics.median([n / o for o, n in zip(r['old'], r['new'])])))
    for s, c in (ceiling or {}).items():
        print('%s_relu_ceiling_ratio=%.2f' % (s.lower(), statistics.median([v / o for o, v in zip(results[s]['old'], c)])))


if __name__ == '__main__':
    sys.exit(cli.run(main))
