"""SGD as the original trains it (or Adam), and an optimizer state that cannot run code when read.

* SGD, momentum 0.9, weight decay on weights and BN/PReLU gammas only (MXNet's Module optimizer
  skips biases and betas); lr × 0.1 at each ``lr_epoch`` milestone, turned into update counts
  ``(e − begin_epoch) · samples_per_epoch / batch_size``; milestones already passed when a run
  starts at ``begin_epoch`` are applied up front.
* ``optimizer='adam'``: MXNet's Adam with ``momentum`` as beta1 and the same weight decay rule (an
  L2 term in the gradient, as MXNet's Adam has it), for recipes that the original's SGD regime does
  not move in the epochs a small machine allows.
* The optimizer state (every state array per parameter — SGD's momentum, Adam's two moments —,
  update counts, and the settings that produced it)
  is written as an MXNet NDArray file (arrays only) with the settings as JSON text inside: nothing
  in it is unpickled. MXNet's own ``Trainer.save_states`` pickles, so a downloaded checkpoint's
  ``.states`` would run arbitrary code on ``--resume``; this format cannot.
* Restoring is all or nothing: the state continues a run only when its settings (lr, schedule,
  batch, samples per epoch, devices, weight decay, momentum) equal the new run's; otherwise the new
  run starts a fresh optimizer from the loaded weights, as the original's second-stage ``.bat``
  commands do (``--resume`` with a new ``--lr``), and says so.
"""
import json

import numpy as np

import symbols  # noqa: F401  (sets the MXNet environment first)
import mxnet as mx

from core.common.fileio import FormatError, atomic_call

MOMENTUM = 0.9
NAMES = {'sgd': 'SGD', 'adam': 'Adam'}
STATE_VERSION = 1


def lr_schedule(lr, lr_epoch, begin_epoch, samples_per_epoch, batch_size):
    """(base lr after passed milestones, MultiFactorScheduler or None), as the original."""
    passed = [e for e in lr_epoch if e <= begin_epoch]
    base = lr * (0.1 ** len(passed))
    steps = [int((e - begin_epoch) * samples_per_epoch / batch_size) for e in lr_epoch if e > begin_epoch]
    steps = [s for s in steps if s > 0]
    if not steps:
        return base, None
    return base, mx.lr_scheduler.MultiFactorScheduler(step=steps, factor=0.1, base_lr=base)


def decays(name):
    """The original's Module SGD decays only ``*_weight`` and ``*_gamma`` parameters."""
    return name.endswith('_weight') or name.endswith('_gamma')


def make_trainer(params, phase, origin_epoch, samples_per_epoch, kvstore=None):
    """A Gluon trainer for ``params`` (a ParameterDict) that runs ``phase`` (a
    :class:`core.recipes.training_recipe.Phase`: optimizer, lr and its milestones, batch, weight decay)
    from epoch ``origin_epoch``, with ``samples_per_epoch`` samples an epoch.

    Updates always happen on the workers (``update_on_kvstore=False``), so every device and every
    machine holds the optimizer state that :func:`save_state` writes."""
    for name, p in params.items():
        p.wd_mult = 1.0 if decays(name) else 0.0
    base_lr, sched = lr_schedule(phase.lr, phase.lr_epoch, origin_epoch, samples_per_epoch, phase.batch_size)
    name = phase.optimizer
    opt = {'learning_rate': base_lr, 'wd': phase.wd, ('momentum' if name == 'sgd' else 'beta1'): MOMENTUM}
    if sched is not None:
        opt['lr_scheduler'] = sched
    trainer = mx.gluon.Trainer(params, name, opt, kvstore=kvstore, update_on_kvstore=False)
    if isinstance(kvstore, mx.kv.KVStore) and kvstore.type.startswith('dist'):
        sync_workers(trainer, kvstore)
    return trainer


def sync_workers(trainer, kv):
    """Give every worker rank 0's weights before the first batch.

    Gluon broadcasts the weights lazily inside the first ``step()``, where the pull of a weight and
    the push of its first gradient share a key and may reach the server in either order; when the
    push wins, the server answers the pull with a gradient sum and that worker trains on from
    garbage (seen on one PReLU in about half of two-worker runs). Broadcasting here, waiting for
    every pull and meeting at a barrier before any gradient exists, removes the race."""
    trainer._init_kvstore()
    trainer._init_params()
    mx.nd.waitall()
    kv._barrier()


def state_settings(phase, phase_number, origin_epoch, samples_per_epoch, devices, workers):
    """What an optimizer state records about the run that made it (:func:`signature` and the phase)."""
    return dict(lr=phase.lr, lr_epoch=list(phase.lr_epoch), origin_epoch=origin_epoch, batch_size=phase.batch_size,
                phase=phase_number, samples_per_epoch=samples_per_epoch, wd=phase.wd, momentum=MOMENTUM,
                optimizer=phase.optimizer, devices=devices, workers=workers)


def signature(settings):
    """The settings an optimizer state belongs to (everything that shapes the update sequence)."""
    keys = ('lr', 'lr_epoch', 'batch_size', 'samples_per_epoch', 'wd', 'momentum', 'devices', 'workers')
    out = {k: settings.get(k) for k in keys}
    if settings['optimizer'] != 'sgd':  # SGD states written before the choice existed stay valid
        out['optimizer'] = settings['optimizer']
    return out


def save_state(path, trainer, settings, epoch):
    """Write the optimizer state of ``trainer`` after ``epoch`` (atomic; arrays + JSON only)."""
    opt = trainer._optimizer
    updater = trainer._updaters[0]
    arrays = {}
    for i, p in enumerate(trainer._params):
        state = updater.states.get(i)
        parts = state if isinstance(state, (tuple, list)) else (state,)
        for k, part in enumerate(parts):  # SGD: (momentum,), saved under the name it always had
            if part is not None:
                arrays[('momentum:' if k == 0 else 'state%d:' % k) + p.name] = part.as_in_context(mx.cpu())
    meta = dict(version=STATE_VERSION, epoch=int(epoch), settings=signature(settings), num_update=int(opt.num_update),
                phase=int(settings.get('phase', 1)),
                origin_epoch=int(settings['origin_epoch']),
                update_counts={trainer._params[i].name: int(c) for i, c in
                               opt._all_index_update_counts.get(trainer._contexts[0].device_id, {}).items()})
    arrays['meta'] = mx.nd.array(np.frombuffer(json.dumps(meta).encode(), np.uint8), dtype='uint8')
    atomic_call(path, lambda tmp: mx.nd.save(tmp, arrays))


def read_state(path):
    """(meta dict, {param name: [state NDArrays]}) of a state file; a clear error if it is not one."""
    try:
        arrays = mx.nd.load(path)
        meta = json.loads(bytes(arrays.pop('meta').asnumpy().astype(np.uint8)).decode())
    except (mx.base.MXNetError, KeyError, AttributeError, ValueError, UnicodeDecodeError) as exc:
        from core.runtime.model_io import mx_message
        raise FormatError('%s: not an optimizer state written by this toolkit (%s)' % (path, mx_message(exc)))
    if not isinstance(meta, dict) or meta.get('version') != STATE_VERSION:
        raise FormatError('%s: unknown optimizer state version' % path)
    states = {}
    for key, v in arrays.items():
        kind, _, name = key.partition(':')
        k = 0 if kind == 'momentum' else int(kind[5:]) if kind.startswith('state') and kind[5:].isdigit() else None
        if k is None:
            raise FormatError('%s: unknown entry %r in an optimizer state' % (path, key))
        states.setdefault(name, {})[k] = v
    return meta, {n: [parts[k] for k in sorted(parts)] for n, parts in states.items()}


def restore_state(path, trainer, settings):
    """Continue the optimizer of ``path`` if it belongs to the same settings; returns
    ``(restored, reason)`` — the reason names what changed when a fresh optimizer is kept.

    A continued optimizer keeps its learning-rate schedule: the milestones count updates from the
    epoch its run started at (``origin_epoch``, stored in the state, set in ``settings`` too)."""
    meta, saved = read_state(path)
    old, new = meta['settings'], signature(settings)
    changed = ['%s %s -> %s' % (k, old.get(k), new.get(k)) for k in list(new) + [k for k in old if k not in new]
               if old.get(k) != new.get(k)]
    if changed:
        return False, 'settings changed (%s)' % ', '.join(changed)
    names = [p.name for p in trainer._params]
    opt = trainer._optimizer
    for updater, ctx in zip(trainer._updaters, trainer._contexts):
        for i, name in enumerate(names):
            if name in saved:
                parts = [v.as_in_context(ctx) for v in saved[name]]
                updater.states[i] = parts[0] if len(parts) == 1 else tuple(parts)
                updater.states_synced[i] = True
    counts = meta.get('update_counts', {})
    for ctx in trainer._contexts:  # MXNet keeps one count table per device id and switches between them
        opt._all_index_update_counts[ctx.device_id] = {i: int(counts[n]) for i, n in enumerate(names) if n in counts}
    opt._index_update_count = opt._all_index_update_counts[trainer._contexts[0].device_id]
    opt.num_update = int(meta['num_update'])
    settings['origin_epoch'] = int(meta['origin_epoch'])
    opt.lr, opt.lr_scheduler = lr_schedule(settings['lr'], settings['lr_epoch'], settings['origin_epoch'],
                                           settings['samples_per_epoch'], settings['batch_size'])
    return True, 'continuing the optimizer of epoch %d (update %d)' % (meta['epoch'], opt.num_update)
