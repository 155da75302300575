"""The one training loop for every stage (spec §5), used by train_P20.py … train_L106.py.

SGD (momentum 0.9, weight decay 1e-5), lr ×0.1 at epoch milestones turned into update counts as the
original (``--lr_epoch``, ``--begin_epoch``), the original's initialisation (He-normal, PReLU slopes
1.0, ``fc*`` parameters ÷10), OHEM losses, Speedometer lines every ``--frequent`` batches, a tqdm bar
per epoch, a CSV metrics log and a PNG of the curves. Every epoch writes ``prefix-symbol.json`` (an
inference graph), ``prefix-%04d.params`` (``arg:``/``aux:``) and ``prefix-%04d.states`` (optimizer),
atomically; ``--resume`` continues from them exactly. ``--gpus 0,1`` trains data-parallel (CPU when
empty), ``--kvstore dist_sync`` across machines (see tools/launch.py).
"""
import argparse
import csv
import logging
import os
import sys
import time
import warnings

import numpy as np

import symbols  # noqa: F401  (sets the MXNet environment first)
import mxnet as mx
from config import config as CFG

from . import data as D
from .losses import stage_losses
from .metrics import StageMetrics
from .model_io import load_params, params_path, save_checkpoint

log = logging.getLogger('train')


# --- model ---------------------------------------------------------------------------------------

def init_params(sym, data_shape, seed=0, prelu_init=1.0):
    """The original's initialisation (spec §5.2): He-normal weights, zero biases, every ``gamma``
    (BN scale and PReLU slope) 1, ``beta`` 0, BN statistics 0/1; ``fc*`` parameters ÷10.
    ``prelu_init`` sets the PReLU slopes instead (BN scales stay 1)."""
    rng = np.random.RandomState(seed)
    arg_shapes, _, aux_shapes = sym.infer_shape(data=data_shape)
    arg = {}
    for name, shape in zip(sym.list_arguments(), arg_shapes):
        if name == 'data':
            continue
        if name.endswith('_weight'):
            fan_in = int(np.prod(shape[1:]))
            v = rng.normal(0, np.sqrt(2.0 / fan_in), shape)
        elif name.endswith('_gamma'):
            is_bn = 'bn' in name or 'batchnorm' in name
            v = np.ones(shape) * (1.0 if is_bn else prelu_init)
        else:
            v = np.zeros(shape)
        if name.startswith('fc'):
            v = v / 10.0
        arg[name] = mx.nd.array(v)
    aux = {n: mx.nd.array(np.ones(s) if n.endswith('_var') else np.zeros(s))
           for n, s in zip(sym.list_auxiliary_states(), aux_shapes)}
    return arg, aux


def make_block(sym, arg, aux, ctx):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        block = mx.gluon.SymbolBlock(sym, [mx.sym.var('data')])
    for name, p in block.collect_params().items():
        p._load_init(arg[name] if name in arg else aux[name], ctx)
    return block


def lr_schedule(lr, lr_epoch, begin_epoch, samples_per_epoch, batch_size):
    """(base lr after passed milestones, MultiFactorScheduler or None), as the original."""
    passed = [e for e in lr_epoch if e <= begin_epoch]
    base = lr * (0.1 ** len(passed))
    steps = [int((e - begin_epoch) * samples_per_epoch / batch_size) for e in lr_epoch if e > begin_epoch]
    steps = [s for s in steps if s > 0]
    if not steps:
        return base, None
    return base, mx.lr_scheduler.MultiFactorScheduler(step=steps, factor=0.1, base_lr=base)


# --- data ----------------------------------------------------------------------------------------

def build_data(args, info):
    """(train loader, validation loader or None, samples per epoch)."""
    cfg = {k: CFG[k] for k in ('enable_gray', 'enable_color_jitter', 'enable_gaussian_noise', 'enable_blur',
                               'min_rot_angle', 'max_rot_angle', 'landmark106_migu_random_flip')}
    n_points = info['n_points'] if info['kind'] == 'lnet' else 5
    rng = np.random.RandomState(args.seed)
    if getattr(args, 'online', False):
        from .landmarks import read_list
        samples = read_list(args.image_set, args.list_format, args.image_root)
        order = rng.permutation(len(samples))
        n_val = int(len(samples) * args.val_ratio)
        val = [samples[i] for i in order[:n_val]]
        train = [samples[i] for i in order[n_val:]]
        tmaker = D.LandmarkOnlineMaker(train, info['size'], n_points, True, cfg)
        vmaker = D.LandmarkOnlineMaker(val, info['size'], n_points, False, cfg) if val else None
    else:
        entries = D.read_list(args.image_set)
        if args.val_list:
            val_entries = D.read_list(args.val_list)
        else:
            order = rng.permutation(len(entries))
            n_val = int(len(entries) * args.val_ratio)
            val_entries = [entries[i] for i in order[:n_val]]
            entries = [entries[i] for i in np.sort(order[n_val:])]
        tmaker = D.BatchMaker(D.SampleSource(entries, info['size'], n_points), True, not args.no_flip,
                              CFG.enable_black_border, cfg)
        vmaker = D.BatchMaker(D.SampleSource(val_entries, info['size'], n_points), False, False, False, cfg) \
            if val_entries else None
    shard = (args.rank, args.num_parts)
    train = D.Loader(tmaker, args.batch_size, args.seed, args.workers, True, shard)
    if len(train) == 0:
        raise D.DataError('%s: fewer samples (%d) than one batch of %d' % (args.image_set, train.num_samples,
                                                                          args.batch_size))
    val = D.Loader(vmaker, min(args.batch_size, max(1, len(vmaker.source))), args.seed, 0, False,
                   drop_last=False) if vmaker is not None and len(vmaker.source) else None
    return train, val, train.num_samples


# --- the loop ------------------------------------------------------------------------------------

def _to_nd(batch, ctx):
    n = len(batch['data'])
    out = {k: mx.nd.array(v, ctx=ctx) for k, v in batch.items()}
    for k in LossGraph.KEYS:  # every graph input must exist
        if k not in out:
            out[k] = mx.nd.zeros((n, 10) if k == 'landmark_target' else (n, 4) if k == 'bbox_target' else (n,), ctx=ctx)
    return out


def _split(batch, parts):
    """``parts`` nearly equal consecutive slices of a batch dict."""
    bounds = np.linspace(0, len(batch['data']), parts + 1).astype(int)
    return [{k: v[lo:hi] for k, v in batch.items()} for lo, hi in zip(bounds[:-1], bounds[1:])]


def _chunks(batch, micro):
    """A batch dict in nearly equal chunks of at most ``micro`` samples (0 = whole)."""
    return _split(batch, max(1, -(-len(batch['data']) // micro)) if micro else 1)


def micro_batch_size(size, ctx):
    """Automatic chunk size: on CPU, chunks whose activations stay in cache (an Onet_v1 step on 256
    samples runs 2.7x faster as 8 chunks of 32); Pnets' activations fit whole; on GPU the whole shard."""
    if ctx.device_type != 'cpu' or size <= 20:
        return 0
    return 64 if size <= 24 else 32


def use_micro_batches(net, micro, per_device):
    """Switch ``net`` to accumulated gradients when chunks of ``micro`` split a device batch;
    returns the chunk size to pass to :func:`train_step` (0 = whole batches)."""
    if not micro or micro >= per_device:
        return 0
    for p in net.collect_params().values():
        if p.grad_req != 'null':
            p.grad_req = 'add'
    return micro


class LossGraph(mx.gluon.HybridBlock):
    """The train-mode net and its losses as one hybridized graph (a single cached call per chunk
    instead of ~60 Python-dispatched operators). Calling it with the batch arrays returns
    ``(total loss, [heads], {task: (loss, keep[, prob])})``; BN is in training mode under
    ``autograd.record()`` and uses its moving statistics otherwise."""

    KEYS = ('data', 'label', 'bbox_target', 'type_label', 'landmark_target')

    def __init__(self, net, kind, with_landmark=False, n_coords=None):
        super().__init__()
        self.kind, self.with_landmark, self.n_coords = kind, with_landmark, n_coords
        self._layout = None
        with self.name_scope():
            self.net = net
        self.hybridize(static_alloc=True)

    def hybrid_forward(self, F, data, label, bbox_target, type_label, landmark_target):
        outs = self.net(data)
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        batch = dict(label=label, bbox_target=bbox_target, type_label=type_label, landmark_target=landmark_target)
        total, parts = stage_losses(outs, batch, self.kind, CFG, self.with_landmark, F, self.n_coords)
        tasks = sorted(parts)
        self._layout = (len(outs), [(t, len(parts[t])) for t in tasks])
        return tuple([total] + outs + [x for t in tasks for x in parts[t]])

    def run(self, nb):
        with warnings.catch_warnings():
            if self._layout is None:  # the first call traces the graph; unused inputs (landmarks) are fine
                warnings.simplefilter('ignore', UserWarning)
            res = self(*[nb[k] for k in self.KEYS])
        n_outs, tasks = self._layout
        parts, i = {}, 1 + n_outs
        for t, k in tasks:
            parts[t] = tuple(res[i:i + k])
            i += k
        return res[0], list(res[1:1 + n_outs]), parts


def _numpy(outs, parts):
    return [o.asnumpy() for o in outs], {k: tuple(x.asnumpy() for x in v) for k, v in parts.items()}


def train_step(graph, trainer, batch, ctxs, micro=0, num_parts=1):
    """One SGD step of a :class:`LossGraph` on ``batch`` (numpy dict): split over ``ctxs``, each
    device shard in chunks of ``micro`` samples (0 = whole shard) whose gradients accumulate. Every
    chunk computes its own OHEM selection and BN statistics, exactly as one device of a multi-GPU
    run does; the gradient is the mean of the chunks' gradients. Returns [(numpy outputs, numpy
    loss parts, chunk)] per chunk."""
    chunks = [(c, ctx) for shard, ctx in zip(_split(batch, len(ctxs)), ctxs) for c in _chunks(shard, micro)]
    results = []
    for chunk, ctx in chunks:
        nb = _to_nd(chunk, ctx)
        with mx.autograd.record():
            loss, outs, parts = graph.run(nb)
        loss.backward()
        results.append((outs, parts, chunk))
    trainer.step(len(chunks) * num_parts)
    for p in graph.collect_params().values():
        if p.grad_req == 'add':
            p.zero_grad()
    return [_numpy(outs, parts) + (chunk,) for outs, parts, chunk in results]


class CsvLog:
    def __init__(self, path, resume):
        self.path = path
        self.rows = []
        if resume and os.path.exists(path):
            with open(path) as f:
                self.rows = list(csv.DictReader(f))

    def add(self, row):
        self.rows.append({k: str(v) for k, v in row.items()})
        keys = []
        for r in self.rows:
            keys += [k for k in r if k not in keys]
        tmp = self.path + '.tmp'
        with open(tmp, 'w', newline='') as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(self.rows)
        os.replace(tmp, self.path)

    def plot(self, png):
        from .plot import line_plot
        epochs = [r for r in self.rows if r.get('phase') in ('train_epoch', 'val')]
        series = []
        for phase in ('train_epoch', 'val'):
            rows = [r for r in epochs if r['phase'] == phase]
            for key in ('acc', 'loss', 'boxL2', 'lmL2'):
                pts = [(float(r['epoch']), float(r[key])) for r in rows if r.get(key) not in (None, '')]
                if pts:
                    series.append(('%s %s' % (phase.replace('_epoch', ''), key), [p[0] for p in pts],
                                   [p[1] for p in pts]))
        if series:
            top = max(max(s[2]) for s in series)
            line_plot(series, png, title=os.path.basename(png), xlabel='epoch', ylabel='metric',
                      ylim=(0.0, max(1.0, top)))


def evaluate(graph, loader, ctx, micro=0):
    """Metrics of a :class:`LossGraph` over ``loader`` (inference mode: BN moving statistics)."""
    metrics = StageMetrics(graph.kind, graph.with_landmark)
    for batch in loader.batches(0):
        for chunk in _chunks(batch, micro):
            _, outs, parts = graph.run(_to_nd(chunk, ctx))
            np_outs, np_parts = _numpy(outs, parts)
            metrics.update(np_outs, chunk, np_parts)
    return metrics.get()


def train(args):
    """Train one stage; returns the last epoch's metrics."""
    info = symbols.network_info(args.network)
    kind = info['kind']
    with_landmark = bool(getattr(args, 'with_landmark', False)) and kind == 'onet'
    ctxs = [mx.gpu(int(g)) for g in args.gpus.split(',') if g.strip() != ''] if args.gpus else [mx.cpu()]
    kv = mx.kv.create(args.kvstore) if args.kvstore.startswith('dist') else args.kvstore
    args.rank, args.num_parts = (kv.rank, kv.num_workers) if not isinstance(kv, str) else (0, 1)
    is_main = args.rank == 0
    mx.random.seed(args.seed)
    train_loader, val_loader, n_samples = build_data(args, info)
    train_sym = symbols.get_symbol(args.network, 'train', with_landmark=with_landmark, basenum=args.basenum)
    test_sym = symbols.get_symbol(args.network, 'test', with_landmark=with_landmark, basenum=args.basenum)
    size = info['size']
    arg, aux = init_params(train_sym, (1, 3, size, size), args.seed, args.prelu_init)
    states = None
    if args.resume:
        # own checkpoint at --begin_epoch first (also for a fine-tune that was interrupted), else --pretrained
        own = os.path.exists(params_path(args.prefix, args.begin_epoch))
        src = args.prefix if own or not args.pretrained else args.pretrained
        epoch = args.begin_epoch if own or args.epoch is None else args.epoch
        loaded_arg, loaded_aux = load_params(params_path(src, epoch))
        arg.update({k: v for k, v in loaded_arg.items() if k in arg})
        aux.update({k: v for k, v in loaded_aux.items() if k in aux})
        if os.path.exists('%s-%04d.states' % (src, epoch)):
            states = '%s-%04d.states' % (src, epoch)
        log.info('resumed from %s epoch %d%s', src, epoch, ' with optimizer state' if states else '')
    elif args.pretrained:
        loaded_arg, loaded_aux = load_params(params_path(args.pretrained, args.epoch or 0))
        n = sum(1 for k in loaded_arg if k in arg)
        arg.update({k: v for k, v in loaded_arg.items() if k in arg and v.shape == arg[k].shape})
        aux.update({k: v for k, v in loaded_aux.items() if k in aux and v.shape == aux[k].shape})
        log.info('fine-tuning from %s epoch %s (%d parameters)', args.pretrained, args.epoch, n)
    net = make_block(train_sym, arg, aux, ctxs)
    micro = use_micro_batches(net, micro_batch_size(size, ctxs[0]) if args.micro_batch < 0 else args.micro_batch,
                              args.batch_size // len(ctxs))
    if micro:
        log.info('%d samples per device step in chunks of %d (--micro_batch)', args.batch_size // len(ctxs), micro)
    per_worker = n_samples // args.num_parts
    base_lr, sched = lr_schedule(args.lr, [int(e) for e in args.lr_epoch.split(',') if e],
                                 args.begin_epoch, per_worker, args.batch_size)
    opt = {'learning_rate': base_lr, 'momentum': 0.9, 'wd': args.wd}
    if sched is not None:
        opt['lr_scheduler'] = sched
    trainer = mx.gluon.Trainer(net.collect_params(), 'sgd', opt, kvstore=kv)
    graph = LossGraph(net, kind, with_landmark, 2 * info['n_points'] if kind == 'lnet' else None)
    if states:
        trainer.load_states(states)
    metrics = StageMetrics(kind, with_landmark)
    csv_log = CsvLog(args.prefix + '-metrics.csv', args.resume) if is_main else None
    os.makedirs(os.path.dirname(os.path.abspath(args.prefix)), exist_ok=True)
    last = {}
    from tqdm import tqdm
    try:
        for epoch in range(args.begin_epoch, args.end_epoch):
            metrics.reset()
            epoch_metrics = StageMetrics(kind, with_landmark)
            tic, seen, t_epoch = time.time(), 0, time.time()
            bar = tqdm(total=len(train_loader), desc='epoch %d' % (epoch + 1), unit='batch',
                       disable=not is_main or args.quiet, leave=False)
            for b, batch in enumerate(train_loader.batches(epoch)):
                for outs, parts, shard in train_step(graph, trainer, batch, ctxs, micro, args.num_parts):
                    metrics.update(outs, shard, parts)
                    epoch_metrics.update(outs, shard, parts)
                seen += len(batch['data'])
                bar.update(1)
                if (b + 1) % args.frequent == 0:
                    speed = seen / max(time.time() - tic, 1e-9)
                    if is_main:
                        msg = 'Epoch[%d] Batch [%d]\tSpeed: %.2f samples/sec\t%s' % (epoch, b + 1, speed, metrics.format())
                        (bar.write if not args.quiet else log.info)(msg)
                        csv_log.add(dict(phase='train', epoch=epoch + 1, batch=b + 1, speed=speed, lr=trainer.learning_rate,
                                         **metrics.get()))
                    metrics.reset()
                    tic, seen = time.time(), 0
            bar.close()
            last = {'train': epoch_metrics.get()}
            if is_main:
                arg_p = {k: v.data(ctxs[0]) for k, v in net.collect_params().items() if k in train_sym.list_arguments()}
                aux_p = {k: v.data(ctxs[0]) for k, v in net.collect_params().items() if k in train_sym.list_auxiliary_states()}
                save_checkpoint(args.prefix, epoch + 1, test_sym, arg_p, aux_p, network=args.network,
                                with_landmark=with_landmark, basenum=args.basenum)
                if not args.kvstore.startswith('dist'):
                    tmp = '%s-%04d.states.tmp' % (args.prefix, epoch + 1)
                    trainer.save_states(tmp)
                    os.replace(tmp, '%s-%04d.states' % (args.prefix, epoch + 1))
                row = dict(phase='train_epoch', epoch=epoch + 1, time=time.time() - t_epoch, lr=trainer.learning_rate,
                           **last['train'])
                csv_log.add(row)
                if val_loader is not None:
                    last['val'] = evaluate(graph, val_loader, ctxs[0], micro)
                    csv_log.add(dict(phase='val', epoch=epoch + 1, **last['val']))
                log.info('Epoch[%d] Train-%s', epoch + 1, '\tTrain-'.join('%s=%f' % kv for kv in last['train'].items()))
                if 'val' in last:
                    log.info('Epoch[%d] Validation-%s', epoch + 1,
                             '\tValidation-'.join('%s=%f' % kv for kv in last['val'].items()))
                log.info('Epoch[%d] Time cost=%.3f; saved %s', epoch + 1, time.time() - t_epoch,
                         params_path(args.prefix, epoch + 1))
                csv_log.plot(args.prefix + '-curves.png')
    except KeyboardInterrupt:
        log.error('interrupted; rerun with --resume --begin_epoch N (the last saved epoch) to continue')
        raise SystemExit(130)
    finally:
        train_loader.close()
    if args.kvstore.startswith('dist'):  # every worker's final weights, to check they agree
        final = {('arg:%s' % k): v.data(ctxs[0]).copy() for k, v in net.collect_params().items()}
        mx.nd.save('%s-worker%d.params' % (args.prefix, args.rank), final)
    return last


# --- command line --------------------------------------------------------------------------------

def parser(description, defaults):
    """The original trainers' flags (spec §5.3) with this stage's defaults."""
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--network', default=defaults['network'], help='registered variant, e.g. Pnet20_v1')
    ap.add_argument('--image_set', default=defaults.get('image_set'),
                    help='training list (a path, or a name under data/imglists)')
    ap.add_argument('--val_list', default=None, help='validation list (default: a held-out split)')
    ap.add_argument('--val_ratio', type=float, default=0.02, help='held-out fraction when no --val_list')
    ap.add_argument('--prefix', default=defaults['prefix'])
    ap.add_argument('--pretrained', default=None, help='checkpoint prefix to start from (with --epoch)')
    ap.add_argument('--epoch', type=int, default=None, help='epoch of --pretrained / of --resume')
    ap.add_argument('--resume', action='store_true', help='continue from --prefix (or --pretrained) at --begin_epoch')
    ap.add_argument('--begin_epoch', type=int, default=0)
    ap.add_argument('--end_epoch', type=int, default=defaults.get('end_epoch', 16))
    ap.add_argument('--lr', type=float, default=defaults.get('lr', 0.01))
    ap.add_argument('--lr_epoch', default=defaults.get('lr_epoch', '8,14'))
    ap.add_argument('--wd', type=float, default=1e-5)
    ap.add_argument('--batch_size', type=int, default=defaults.get('batch_size', 512))
    ap.add_argument('--frequent', type=int, default=defaults.get('frequent', 100))
    ap.add_argument('--gpus', default=defaults.get('gpus', ''), help='e.g. 0 or 0,1; empty = CPU')
    ap.add_argument('--kvstore', default='device', help='device, local, or dist_sync (see tools/launch.py)')
    ap.add_argument('--workers', '--thread_num', type=int, default=defaults.get('workers', 2),
                    help='processes decoding and augmenting batches (0 = in the training process)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--no_flip', action='store_true', help='do not double the epoch with flipped samples')
    ap.add_argument('--basenum', type=int, default=None, help='Lnet width (16/32/64/128)')
    ap.add_argument('--no_ohem', action='store_true',
                    help='no online hard example mining (config CLS_OHEM/BBOX_OHEM); small data sets learn better')
    ap.add_argument('--prelu_init', type=float, default=1.0,
                    help='initial PReLU slope (the original: 1.0, a linear start; 0.25 trains deep nets from scratch)')
    ap.add_argument('--micro_batch', type=int, default=-1,
                    help='accumulate each device batch in chunks of this many samples (-1 = auto: cache-sized '
                         'on CPU, off on GPU; 0 = off). Chunks do OHEM and BN like devices of a multi-GPU run')
    ap.add_argument('--quiet', action='store_true', help='no progress bar')
    return ap


def landmark_args(list_format):
    """``extra`` hook of the landmark trainers: online augmentation from a landmark list."""
    def extra(ap):
        ap.add_argument('--online', action='store_true',
                        help='online augmentation from a landmark list (rotation, crop, flip, blur) instead of crops')
        ap.add_argument('--list_format', choices=['celeba', 'cuhk', 'l106'], default=list_format)
        ap.add_argument('--image_root', default=None, help='with --online: image folder (default: the list folder)')
    return extra


def resolve_list(name):
    if name is None:
        return None
    if os.path.exists(name):
        return name
    cand = os.path.join(CFG.root, 'data', 'imglists', name + ('' if name.endswith('.txt') else '.txt'))
    return cand if os.path.exists(cand) else name


def main(argv, description, defaults, extra=None):
    ap = parser(description, defaults)
    if extra:
        extra(ap)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(message)s')
    if args.no_ohem:
        CFG.CLS_OHEM = CFG.BBOX_OHEM = False
    args.image_set = resolve_list(args.image_set)
    args.val_list = resolve_list(args.val_list)
    if not args.image_set:
        ap.error('--image_set is required')
    try:
        train(args)
    except (D.DataError, OSError, ValueError) as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 2
    return 0
