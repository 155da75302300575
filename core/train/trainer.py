"""The one training loop for every stage (P, R, O, 5-point and 106-point landmark nets).

    recipe = core.recipes.training_recipe.load('R')            # scripts/recipes/train/R.json: the original's two phases
    train(recipe, phase=1, run=RunOptions(workers=2))
    train(recipe, phase=2)                    # continues from phase 1's last checkpoint, a fresh SGD

:func:`train` builds the objects and runs the epochs; each piece is a function of built objects:
:func:`build_model` (the original's initialisation), :func:`restore` (weights from a checkpoint and,
when the settings are unchanged, its optimizer state), :func:`core.train.optim.make_trainer`, then per
epoch :func:`train_epoch`, :func:`validate` and :func:`save_checkpoint`.

Every epoch (every ``save_every``-th for the landmark-only recipes, and always the last) writes
``prefix-symbol.json`` (an inference graph, no loss nodes), ``prefix-%04d.params`` (``arg:``/``aux:``)
and ``prefix-%04d.states`` (optimizer, arrays + JSON), atomically; ``prefix-metrics.csv`` and
``prefix-curves.png`` log the original's metrics per ``frequent`` batches, per epoch and on a
held-out validation split. ``gpus='0,1'`` trains data-parallel with the gradients of the devices
summed (as the original's Module), ``kvstore='dist_sync'`` across machines (tools/launch.py).
"""
import csv
import dataclasses
import logging
import os
import time
import typing
import warnings

import numpy as np
from easydict import EasyDict

import symbols
from symbols.builder import landmark_head
from symbols.layers import BN_EPS, BN_MOMENTUM
import mxnet as mx
from config import config as CFG

from . import batches as D
from . import fused_ops, optim, threads
from core.common.devices import contexts
from .losses import stage_losses
from .metrics import StageMetrics
from .teacher import TEACHER_WIDTH
from core.common.lifecycle import Interrupted
from core.recipes.training_recipe import RunOptions
from core.runtime.model_io import ModelError, available_epochs, load_params, params_path, save_checkpoint as save_model
from core.common.errors import SettingError

log = logging.getLogger('train')


@dataclasses.dataclass(frozen=True)
class Settings:
    """What one run reads, each part by name: ``recipe`` (a :class:`core.recipes.training_recipe.StageRecipe`),
    ``phase`` (its :class:`core.recipes.training_recipe.Phase` that runs, number ``phase_number``), ``run``
    (the invocation's :class:`core.recipes.training_recipe.RunOptions`), and the starting point
    :func:`settings` resolves: ``begin_epoch``, ``resume`` and ``pretrained``."""
    recipe: object
    phase: object
    phase_number: int
    run: object
    begin_epoch: int
    resume: bool
    pretrained: typing.Optional[str]

    def info(self):
        return symbols.network_info(self.recipe.network)


def settings(recipe, phase=1, run=None, begin_epoch=None):
    """The :class:`Settings` of phase ``phase`` of ``recipe`` with ``run``'s options, its start decided here
    (and the optimizer's fresh start in :func:`setup`):

    * a first phase starts at its ``begin_epoch`` (default 0), from scratch unless it resumes;
    * a later phase continues from the newest checkpoint of the recipe's prefix (where the phase before
      ended) or the ``begin_epoch`` given. When that checkpoint was written by another phase (its
      ``.states`` records the phase) and the phase says ``fresh_optimizer``, the optimizer starts fresh
      (the original's second .bat command: a new lr, a new SGD); a rerun that resumes inside the phase
      continues its own optimizer state.

    ``begin_epoch`` (here) overrides the phase's: an epoch, or ``'last'`` for the newest checkpoint."""
    run = run if run is not None else RunOptions()
    ph = recipe.phase(phase)
    later = phase > 1
    begin = begin_epoch if begin_epoch is not None else ph.begin_epoch
    if begin is None:
        begin = 'last' if later else 0
    begin = _newest(recipe.prefix, ph.end_epoch) if begin == 'last' else int(begin)
    return Settings(recipe, ph, phase, run, begin, ph.resume or later,
                    run.pretrained or (recipe.prefix if later else None))


def _newest(prefix, end_epoch):
    have = [e for e in available_epochs(prefix) if e <= end_epoch]
    if not have:
        raise FileNotFoundError('--begin_epoch last: no checkpoint %s-NNNN.params to continue from' % prefix)
    return max(have)


# --- model ---------------------------------------------------------------------------------------

def init_params(sym, data_shape, seed, prelu_init):
    """The original's initialisation: He-normal weights (N(0, 2/fan_in)), zero biases, every ``gamma``
    1 (BN scales, and PReLU slopes, so each PReLU starts as the identity), ``beta`` 0, BN statistics
    0/1; then every ``fc*`` parameter ÷10. ``prelu_init`` sets the PReLU slopes instead."""
    rng = np.random.RandomState(seed)
    arg_shapes, _, aux_shapes = sym.infer_shape(data=data_shape)
    arg = {}
    for name, shape in zip(sym.list_arguments(), arg_shapes):
        if name == 'data':
            continue
        if name.endswith('_weight'):
            v = rng.normal(0, np.sqrt(2.0 / int(np.prod(shape[1:]))), shape)
        elif name.endswith('_gamma'):
            v = np.ones(shape) * (1.0 if ('bn' in name or 'batchnorm' in name) else prelu_init)
        else:
            v = np.zeros(shape)
        if name.startswith('fc'):
            v = v / 10.0
        arg[name] = mx.nd.array(v)
    aux = {n: mx.nd.array(np.ones(s) if n.endswith('_var') else np.zeros(s))
           for n, s in zip(sym.list_auxiliary_states(), aux_shapes)}
    return arg, aux


@dataclasses.dataclass
class Model:
    network: str
    train_sym: object
    test_sym: object
    arg: dict
    aux: dict
    with_landmark: bool = False
    basenum: int = None
    frozen_head: str = None  # the landmark output BatchNorm held fixed (target_norm), or None


def build_model(s, stats=None):
    """The training and inference graphs of ``s.recipe.network`` with freshly initialised parameters.

    ``s.recipe.target_norm`` (landmark nets and the Onet landmark head): the BatchNorm on the landmark
    output keeps its stored statistics in training and its scale and shift are set to ``stats``,
    the (mean, std) of the training targets, and frozen: the output is ``std·z + mean``, so the layers
    below learn standardised targets (unit spread) instead of coordinates that vary by a few
    hundredths around the mean shape — the reason the original's landmark nets crawl. The layer
    under it starts ÷10 (as the original's ``fc*`` layers do), so the net starts near the mean shape
    rather than at ±1 standard deviation of noise (measured: 15.7 % against 11.9 % dev NME after
    one epoch). The inference graph is the original's."""
    info = s.info()
    form = fused_ops.training_prelu(gpu=bool(s.run.gpus))
    with_landmark = bool(s.recipe.with_landmark) and info['kind'] == 'onet'
    names = landmark_head(info['kind'], with_landmark) if s.recipe.target_norm else None
    head = names[1] if names else None
    if s.recipe.target_norm and head is None:
        raise SettingError('target_norm applies to landmark outputs (an Lnet, or an Onet with --with_landmark)')
    train_sym = symbols.get_symbol(s.recipe.network, 'train', with_landmark=with_landmark, basenum=s.recipe.basenum,
                                   fixed_head=head is not None, train_prelu=form)
    if s.recipe.bn_momentum != BN_MOMENTUM:
        train_sym = with_bn_momentum(train_sym, s.recipe.bn_momentum)
    test_sym = symbols.get_symbol(s.recipe.network, 'test', with_landmark=with_landmark, basenum=s.recipe.basenum)
    arg, aux = init_params(train_sym, (1, 3, info['size'], info['size']), s.recipe.seed, s.recipe.prelu_init)
    if head is not None:
        if stats is None:
            raise ValueError('target_norm needs the targets\' (mean, std)')
        mean, std = (np.asarray(v, np.float64) for v in stats)
        arg[head + '_gamma'], arg[head + '_beta'] = mx.nd.array(std), mx.nd.array(mean)
        aux[head + '_moving_mean'] = mx.nd.zeros(len(mean))
        aux[head + '_moving_var'] = mx.nd.array(np.full(len(mean), 1.0 - BN_EPS))  # (z − 0)/√(var + eps) = z
        arg[names[0] + '_weight'] = arg[names[0] + '_weight'] / 10.0
    return Model(s.recipe.network, train_sym, test_sym, arg, aux, with_landmark, s.recipe.basenum, head)


def with_bn_momentum(sym, momentum):
    """``sym`` with every BatchNorm's moving-statistics momentum set to ``momentum`` (training graphs only:
    in training BatchNorm normalises with the batch's statistics, so only the stored ones change)."""
    import json
    graph = json.loads(sym.tojson())
    for node in graph['nodes']:
        if node['op'] == 'BatchNorm':
            node.setdefault('attrs', {})['momentum'] = repr(float(momentum))
    return mx.sym.load_json(json.dumps(graph))


def _load_into(model, path, strict):
    arg, aux = load_params(path)
    for mine, theirs in ((model.arg, arg), (model.aux, aux)):
        for k, v in theirs.items():
            if k in mine and v.shape == mine[k].shape:
                mine[k] = v
            elif strict and k in mine:
                raise ModelError('%s: %s has shape %s, %s needs %s' % (path, k, v.shape, model.network, mine[k].shape))
    return sum(1 for k in arg if k in model.arg)


def _checkpoint(prefix, epoch):
    path = params_path(prefix, epoch)
    if not os.path.isfile(path):
        have = available_epochs(prefix)
        raise ModelError('%s: no checkpoint of epoch %d (%s)' % (path, epoch, 'epochs found: %s' % ', '.join(
            map(str, have)) if have else 'no checkpoints with this prefix'))
    return path


def restore(model, s, prefix):
    """Load weights as the flags say; returns the optimizer state file to continue from, or None.

    ``resume``: continue at ``begin_epoch`` from this run's own checkpoint ``prefix-<begin_epoch>``,
    else from ``pretrained`` at ``epoch`` (the original's second-stage commands). Without ``resume``,
    ``pretrained`` initialises the matching parameters (a fine-tune). The optimizer state is only
    ever read from the run's own ``prefix``, never from ``pretrained``."""
    if s.resume:
        own = os.path.isfile(params_path(prefix, s.begin_epoch))
        if not own and not s.pretrained and s.begin_epoch == 0:
            raise ModelError('--resume: nothing to resume from (give --begin_epoch N of a saved epoch, '
                             'or --pretrained PREFIX --epoch N)')
        src, epoch = (prefix, s.begin_epoch) if own else (s.pretrained or prefix, s.run.epoch or s.begin_epoch)
        n = _load_into(model, _checkpoint(src, epoch), strict=True)
        log.info('weights: %d parameters from %s epoch %d', n, src, epoch)
        states = '%s-%04d.states' % (prefix, s.begin_epoch)
        return states if own and os.path.isfile(states) else None
    if s.pretrained:
        epoch = s.run.epoch if s.run.epoch is not None else 0
        n = _load_into(model, _checkpoint(s.pretrained, epoch), strict=False)
        log.info('weights: fine-tuning from %s epoch %d (%d parameters)', s.pretrained, epoch, n)
    return None


def make_block(sym, arg, aux, ctx):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        block = mx.gluon.SymbolBlock(sym, [mx.sym.var('data')])
    for name, p in block.collect_params().items():
        p._load_init(arg[name] if name in arg else aux[name], ctx)
    return block


# --- one step --------------------------------------------------------------------------------------

def loss_config(ohem, landmark_loss, wing=None, teacher=None):
    """The loss settings of config.py with OHEM switched on or off and the landmark loss (with
    ``'wing'``, its (w, ε): the recipe's ``wing``) chosen for this run only; ``teacher``: distillation's
    (weight, temperature, with boxes), or None."""
    cfg = EasyDict(CFG)
    cfg.teacher = tuple(teacher) if teacher else None
    if not ohem:
        cfg.CLS_OHEM = cfg.BBOX_OHEM = cfg.LANDMARK_OHEM = False
    cfg.landmark_loss = landmark_loss
    cfg.wing = tuple(wing) if wing is not None else None
    return cfg


class LossGraph(mx.gluon.HybridBlock):
    """The train-mode net and its losses as one hybridized graph (a single cached call per chunk
    instead of ~60 Python-dispatched operators). ``run(batch)`` returns
    ``(total loss, [heads], {task: (loss, keep[, prob])})``; BN is in training mode under
    ``autograd.record()`` and uses its moving statistics otherwise."""

    KEYS = ('data', 'label', 'bbox_target', 'type_label', 'landmark_target')

    def __init__(self, net, kind, with_landmark, cfg, n_coords=None):
        super().__init__()
        self.keys = self.KEYS + (('teacher',) if cfg.get('teacher') else ())
        self.kind, self.with_landmark, self.n_coords = kind, with_landmark, n_coords
        self.cfg = cfg
        self._layout = None
        with self.name_scope():
            self.net = net
        self.hybridize(static_alloc=True)

    def hybrid_forward(self, F, data, label, bbox_target, type_label, landmark_target, teacher=None):
        outs = self.net(data)
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        batch = dict(label=label, bbox_target=bbox_target, type_label=type_label, landmark_target=landmark_target,
                     teacher=teacher)
        total, parts = stage_losses(outs, batch, self.kind, self.cfg, self.with_landmark, F, self.n_coords)
        tasks = sorted(parts)
        self._layout = (len(outs), [(t, len(parts[t])) for t in tasks])
        return tuple([total] + outs + [x for t in tasks for x in parts[t]])

    def run(self, nb):
        with warnings.catch_warnings():
            if self._layout is None:  # the first call traces the graph; unused inputs (landmarks) are fine
                warnings.simplefilter('ignore', UserWarning)
            res = self(*[nb[k] for k in self.keys])
        n_outs, tasks = self._layout
        parts, i = {}, 1 + n_outs
        for t, k in tasks:
            parts[t] = tuple(res[i:i + k])
            i += k
        return res[0], list(res[1:1 + n_outs]), parts


def _to_nd(batch, ctx, keys=LossGraph.KEYS):
    n = len(batch['data'])
    out = {k: mx.nd.array(v, ctx=ctx) for k, v in batch.items()}
    widths = {'landmark_target': 10, 'bbox_target': 4, 'teacher': TEACHER_WIDTH}
    for k in keys:  # every input of the graph (``keys``) must exist (no teacher rows: all zeros)
        if k not in out:
            out[k] = mx.nd.zeros((n, widths[k]) if k in widths else (n,), ctx=ctx)
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


def _numpy(outs, parts):
    return [o.asnumpy() for o in outs], {k: tuple(x.asnumpy() for x in v) for k, v in parts.items()}


def train_step(graph, trainer, batch, ctxs, micro=0):
    """One SGD step of a :class:`LossGraph` on ``batch`` (numpy dict), split over ``ctxs``.

    Each device's loss is a mean over its shard and the devices' gradients are summed (the
    original's Module: with G devices the step is G times a one-device step, so a recipe's lr is
    per device). Within a device, chunks of ``micro`` samples accumulate and are averaged, so
    micro-batching changes nothing but speed; every chunk computes its own OHEM selection and BN
    statistics, like a device of a multi-device run. Returns [(numpy outputs, numpy loss parts,
    chunk)] per chunk."""
    shards = _split(batch, len(ctxs))
    chunks = [(c, ctx) for shard, ctx in zip(shards, ctxs) for c in _chunks(shard, micro)]
    results = []
    for chunk, ctx in chunks:
        nb = _to_nd(chunk, ctx, graph.keys)
        with mx.autograd.record():
            loss, outs, parts = graph.run(nb)
        loss.backward()
        results.append((outs, parts, chunk))
    trainer.step(len(chunks) // len(ctxs))
    for p in graph.collect_params().values():
        if p.grad_req == 'add':
            p.zero_grad()
    return [_numpy(outs, parts) + (chunk,) for outs, parts, chunk in results]


# --- epochs ----------------------------------------------------------------------------------------

class CsvLog:
    """Metrics rows in ``<prefix>-metrics.csv`` (rewritten atomically) and their plot."""

    def __init__(self, path, keep_until_epoch=None):
        self.path, self.rows = path, []
        if keep_until_epoch is not None and os.path.exists(path):
            with open(path) as f:  # a resumed run keeps the rows of the epochs it continues from
                self.rows = [r for r in csv.DictReader(f) if float(r.get('epoch') or 0) <= keep_until_epoch]

    def add(self, row):
        from core.common.fileio import atomic_write
        self.rows.append({k: str(v) for k, v in row.items()})
        keys = []
        for r in self.rows:
            keys += [k for k in r if k not in keys]
        with atomic_write(self.path, newline='') as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(self.rows)

    def plot(self, png, title=''):
        from core.common.plot import training_curves
        return training_curves(self.rows, png, title)


def train_epoch(graph, trainer, loader, epoch, ctxs, micro, frequent, on_log=None, progress=True, epochs=None):
    """One pass over ``loader``; returns the epoch's metrics. ``on_log(batch, speed, metrics)`` is
    called every ``frequent`` batches with the metrics since the previous call (the original's
    Speedometer lines)."""
    from tqdm import tqdm
    window = StageMetrics(graph.kind, graph.with_landmark)
    whole = StageMetrics(graph.kind, graph.with_landmark)
    tic, seen = time.time(), 0
    desc = 'epoch %d/%d' % (epoch + 1, epochs) if epochs else 'epoch %d' % (epoch + 1)
    bar = tqdm(total=len(loader), desc=desc, unit='batch', disable=not progress, leave=False)
    try:
        for b, batch in enumerate(loader.batches(epoch)):
            for outs, parts, chunk in train_step(graph, trainer, batch, ctxs, micro):
                window.update(outs, chunk, parts)
                whole.update(outs, chunk, parts)
            seen += len(batch['data'])
            bar.update(1)
            if (b + 1) % frequent == 0:
                if on_log:
                    on_log(b + 1, seen / max(time.time() - tic, 1e-9), window, bar)
                window.reset()
                tic, seen = time.time(), 0
    finally:
        bar.close()
    return whole.get()


def validate(graph, loader, ctx, micro=0, mean_shape=None):
    """Metrics of a :class:`LossGraph` over ``loader`` (inference mode: BN moving statistics);
    ``mean_shape``: the training targets' mean, for the ``lmNME_floor`` of 5-point nets."""
    metrics = StageMetrics(graph.kind, graph.with_landmark, mean_shape)
    for batch in loader.batches(0):
        for chunk in _chunks(batch, micro):
            _, outs, parts = graph.run(_to_nd(chunk, ctx, graph.keys))
            np_outs, np_parts = _numpy(outs, parts)
            metrics.update(np_outs, chunk, np_parts)
    return metrics.get()


def save_checkpoint(prefix, epoch, model, net, trainer, settings, ctx, weighted_106=False):
    """Optimizer state (``settings``: its :func:`core.train.optim.signature` source) and weights (inference
    graph + params) of ``epoch``, each file atomic, the params last: a ``.params`` file that exists is a
    complete checkpoint, whenever the run was killed. ``weighted_106``: the net was trained with the
    106-point eyebrow/lip weighting (recorded, so its predictions are halved when it runs)."""
    params = net.collect_params()
    arg = {k: v.data(ctx) for k, v in params.items() if k in model.arg}
    aux = {k: v.data(ctx) for k, v in params.items() if k in model.aux}
    optim.save_state('%s-%04d.states' % (prefix, epoch), trainer, settings, epoch)
    save_model(prefix, epoch, model.test_sym, arg, aux, network=model.network, with_landmark=model.with_landmark,
               basenum=model.basenum,
               weighted_106=symbols.network_info(model.network)['n_points'] == 106 and bool(weighted_106))


def _fmt(metrics):
    return '\t'.join('%s=%f' % kv for kv in metrics.items())


def describe(s, info, n_samples, micro):
    """The effective settings, logged when a run starts."""
    cfg = loss_config(s.recipe.ohem, s.recipe.landmark_loss, s.recipe.wing)
    schedule = 'lr %g, x0.1 at epochs %s' % (s.phase.lr, ','.join(map(str, s.phase.lr_epoch)) or 'none')
    photometric = s.recipe.photometric or not s.recipe.online
    blur = ', blur' if s.recipe.enable_blur and photometric else ''
    aug = ('detector-framed landmark crops (shift, scale, rotation, flip%s) + ' % blur if s.recipe.framing == 'box' else
           'online landmark crops (rotation, crop jitter, flip%s) + ' % blur) if s.recipe.online else \
        ('mirrored copies (epoch doubled) + ' if s.recipe.flip else '')
    colour = [n for n, k in (('brightness', 'enable_color_jitter'), ('grey/colour gains', 'enable_gray'),
                             ('gaussian noise', 'enable_gaussian_noise')) if getattr(s.recipe, k)]
    return ['%s (%s, %dx%d) on %s: %d samples per epoch' % (s.recipe.network, info['kind'], info['size'], info['size'],
                                                             s.recipe.image_set, n_samples),
            '%s; %d loader workers; training PReLU: %s' % (threads.describe(), s.run.workers,
                                                          fused_ops.training_prelu(bool(s.run.gpus))),
            'epochs %d..%d, batch %d%s, %s, %s %g, weight decay %g (weights and gammas)'
            % (s.begin_epoch + 1, s.phase.end_epoch, s.phase.batch_size, ' in chunks of %d' % micro if micro else '',
               schedule, 'SGD momentum' if s.phase.optimizer == 'sgd' else 'Adam beta1', optim.MOMENTUM, s.phase.wd),
            'OHEM: classification %s, boxes %s, landmarks %s' % tuple(
                ('%.0f%% hardest' % (100 * r) if on else 'off') for on, r in
                ((cfg.CLS_OHEM, cfg.CLS_OHEM_RATIO), (cfg.BBOX_OHEM, cfg.BBOX_OHEM_RATIO),
                 (cfg.LANDMARK_OHEM, cfg.LANDMARK_OHEM_RATIO))),
            'augmentation: %s%s' % (aug, ', '.join(colour) if photometric and colour else 'none')] + _describe_teacher(s.recipe) + (
        [_describe_landmark_loss(s.recipe)] if info['kind'] == 'lnet' or s.recipe.with_landmark else [])


def _describe_teacher(recipe):
    if not recipe.teacher:
        return []
    return ['distillation: teacher %s, weight %g, temperature %g, %s' % (
        recipe.teacher, recipe.teacher_weight, recipe.teacher_temperature,
        'face probability and boxes' if recipe.teacher_box else 'face probability only')]


def _describe_landmark_loss(recipe):
    wing = ' (w, eps = %g, %g)' % recipe.wing if recipe.landmark_loss == 'wing' else ''
    frozen = ", output BatchNorm frozen at the targets' mean/std" if recipe.target_norm else ''
    return 'landmarks: %s loss%s%s' % (recipe.landmark_loss.upper(), wing, frozen)


@dataclasses.dataclass
class Run:
    """The built objects of one training run (see :func:`setup`)."""
    settings: Settings
    prefix: str
    rank: int
    saves: bool
    ctxs: list
    model: Model
    net: object
    graph: LossGraph
    trainer: object
    opt_settings: dict
    micro: int
    train_loader: object
    val_loader: object
    log: CsvLog
    mean_shape: object = None  # 5-point nets: the training targets' mean (validation's lmNME floor)


def _distribution(s):
    """(kvstore, rank, number of workers, this worker's prefix, whether it saves) of a run."""
    dist = s.run.kvstore.startswith('dist')
    kv = mx.kv.create(s.run.kvstore) if dist else s.run.kvstore
    rank, parts = (kv.rank, kv.num_workers) if dist else (0, 1)
    prefix = s.recipe.prefix.replace('{rank}', str(rank))  # '{rank}' in a prefix: every worker saves its own
    return kv, rank, parts, prefix, rank == 0 or '{rank}' in s.recipe.prefix


def _target_stats(s, info, train_loader, val_loader):
    """The landmark targets' (mean, std) where a run needs them: a frozen output BatchNorm, or a 5-point
    net's validation floor."""
    if s.recipe.target_norm or (info['kind'] == 'lnet' and info['n_points'] == 5 and val_loader is not None):
        return D.target_stats(train_loader.maker, seed=s.recipe.seed)
    return None


def _start_optimizer(s, trainer, state_file, opt_settings):
    """Continue the optimizer state of ``state_file`` where the settings allow it, and say what happens."""
    name = optim.NAMES[s.phase.optimizer]
    later_phase = s.phase_number > 1 and s.phase.fresh_optimizer
    if later_phase and (not state_file or optim.read_state(state_file)[0].get('phase') != s.phase_number):
        log.info('phase %d of %d: the weights of epoch %d and a fresh %s at lr %g (the phase says fresh_optimizer)',
                 s.phase_number, len(s.recipe.phases), s.begin_epoch, name, s.phase.lr)
    elif state_file:
        restored, why = optim.restore_state(state_file, trainer, opt_settings)
        log.info('optimizer: %s', why if restored else 'fresh %s from the loaded weights, %s' % (name, why))
    elif s.resume or s.pretrained:
        log.info('optimizer: fresh %s from the loaded weights', name)


def setup(s):
    """Devices, data, model (restored as the flags say), trainer and loss graph of a run."""
    info = s.info()
    ctxs = contexts(s.run.gpus)
    kv, rank, parts, prefix, saves = _distribution(s)
    mx.random.seed(s.recipe.seed)
    train_loader, val_loader = D.make_loaders(s, info, shard=(rank, parts))
    stats = _target_stats(s, info, train_loader, val_loader)
    model = build_model(s, stats if s.recipe.target_norm else None)
    state_file = restore(model, s, prefix)
    net = make_block(model.train_sym, model.arg, model.aux, ctxs)
    if model.frozen_head:
        for name in ('_gamma', '_beta'):
            net.collect_params()[model.frozen_head + name].grad_req = 'null'
    micro = micro_batch_size(info['size'], ctxs[0]) if s.run.micro_batch < 0 else s.run.micro_batch
    micro = use_micro_batches(net, micro, s.phase.batch_size // len(ctxs))
    samples_per_epoch = train_loader.num_samples // parts
    trainer = optim.make_trainer(net.collect_params(), s.phase, s.begin_epoch, samples_per_epoch, kvstore=kv)
    opt_settings = optim.state_settings(s.phase, s.phase_number, s.begin_epoch, samples_per_epoch, len(ctxs), parts)
    for line in describe(s, info, train_loader.num_samples, micro):
        log.info(line)
    _start_optimizer(s, trainer, state_file, opt_settings)
    losses = loss_config(s.recipe.ohem, s.recipe.landmark_loss, s.recipe.wing,
                         (s.recipe.teacher_weight, s.recipe.teacher_temperature, s.recipe.teacher_box)
                         if s.recipe.teacher else None)
    graph = LossGraph(net, info['kind'], model.with_landmark, losses,
                      2 * info['n_points'] if info['kind'] == 'lnet' else None)
    csv_log = CsvLog(prefix + '-metrics.csv', s.begin_epoch if s.resume else None) if saves else None
    return Run(s, prefix, rank, saves, ctxs, model, net, graph, trainer, opt_settings, micro, train_loader,
               val_loader, csv_log, stats[0] if stats is not None and info['kind'] == 'lnet' else None)


def _logger(r, epoch):
    """The per-``frequent`` callback of :func:`train_epoch`: the original's Speedometer line and a CSV row."""
    def on_log(b, speed, window, bar):
        if r.rank == 0:
            (log.info if r.settings.run.quiet else bar.write)('Epoch[%d] Batch [%d]\tSpeed: %.2f samples/sec\t%s'
                                                         % (epoch, b, speed, window.format()))
        if r.log:
            r.log.add(dict(phase='train', epoch=epoch + 1, batch=b, batches=len(r.train_loader), speed=speed,
                           lr=r.trainer.learning_rate, **window.get()))
    return on_log


def end_of_epoch(r, epoch, metrics, seconds):
    """Checkpoint (every ``save_every`` epochs and the last), validation, log rows and the plot."""
    s = r.settings
    due = (epoch + 1) % s.recipe.save_every == 0 or epoch + 1 == s.phase.end_epoch
    if due:
        save_checkpoint(r.prefix, epoch + 1, r.model, r.net, r.trainer, r.opt_settings, r.ctxs[0],
                        s.recipe.landmark106_migu_weighting)
    r.log.add(dict(phase='train_epoch', epoch=epoch + 1, time=seconds, lr=r.trainer.learning_rate, **metrics['train']))
    log.info('Epoch[%d] Train-%s', epoch + 1, _fmt(metrics['train']).replace('\t', '\tTrain-'))
    if r.val_loader is not None and due:
        metrics['val'] = validate(r.graph, r.val_loader, r.ctxs[0], r.micro, r.mean_shape)
        r.log.add(dict(phase='val', epoch=epoch + 1, **metrics['val']))
        log.info('Epoch[%d] Validation-%s', epoch + 1, _fmt(metrics['val']).replace('\t', '\tValidation-'))
    log.info('Epoch[%d] Time cost=%.3f%s', epoch + 1, seconds, '; saved %s' % params_path(r.prefix, epoch + 1)
             if due else '')
    r.log.plot(r.prefix + '-curves.png', '%s: %s' % (s.recipe.network, os.path.basename(r.prefix)))
    return metrics


def train(recipe, phase=1, run=None, begin_epoch=None):
    """Train phase ``phase`` of ``recipe`` (a :class:`core.recipes.training_recipe.StageRecipe`) with ``run``'s options
    (see :func:`settings` for ``begin_epoch``); returns the last epoch's metrics {'train': …, 'val': …},
    or {} when a resumed run has nothing left to do."""
    s = settings(recipe, phase, run, begin_epoch)
    if s.resume and s.begin_epoch >= s.phase.end_epoch:
        log.info('nothing to do: %s is at epoch %d, end_epoch is %d', s.recipe.prefix, s.begin_epoch, s.phase.end_epoch)
        return {}
    if s.begin_epoch >= s.phase.end_epoch:
        raise SettingError('nothing to do: --begin_epoch %d is not before --end_epoch %d' % (s.begin_epoch, s.phase.end_epoch))
    r = setup(s)
    last, epoch = {}, s.begin_epoch
    try:
        for epoch in range(s.begin_epoch, s.phase.end_epoch):
            t0 = time.time()
            last = {'train': train_epoch(r.graph, r.trainer, r.train_loader, epoch, r.ctxs, r.micro, s.phase.frequent,
                                         _logger(r, epoch), progress=r.rank == 0 and not s.run.quiet, epochs=s.phase.end_epoch)}
            if r.saves:
                last = end_of_epoch(r, epoch, last, time.time() - t0)
    except KeyboardInterrupt:
        # the newest checkpoint this run wrote (older files of the prefix may belong to another run)
        saved = [e for e in available_epochs(r.prefix) if s.begin_epoch < e <= epoch + 1] or \
            ([s.begin_epoch] if s.begin_epoch else [])
        raise Interrupted('interrupted in epoch %d; %s' % (epoch + 1, 'to continue from epoch %d, run the same command '
                          'with --resume --begin_epoch %d' % (saved[-1], saved[-1]) if saved else
                          'no epoch was saved yet: run the same command to start again'))
    finally:
        r.train_loader.close()
    return last
