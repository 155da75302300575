"""Plots people read (matplotlib, headless): PR curves per WIDER setting with several detectors
overlaid (as the official toolkit draws them), training curves with one panel per metric, ROC curves,
landmark cumulative-error curves and learning curves. Every figure is written atomically."""
import os

import numpy as np

from .fileio import atomic_call


def _plt():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path):
    plt = _plt()
    fig.tight_layout()
    atomic_call(path, lambda tmp: fig.savefig(tmp, dpi=110, format='png'))
    plt.close(fig)
    return path


def pr_plot(detectors, path, title='WIDER FACE'):
    """``detectors``: {label: (curves {setting: (recall, precision)}, aps {setting: ap})}; one panel
    per setting, every detector in each, the legend giving each one's AP."""
    plt = _plt()
    settings = list(next(iter(detectors.values()))[0])
    fig, axes = plt.subplots(1, len(settings), figsize=(4.2 * len(settings), 4.2), squeeze=False)
    for ax, s in zip(axes[0], settings):
        ranked = sorted(detectors.items(), key=lambda kv: -kv[1][1][s])
        for label, (curves, aps) in ranked:
            rec, prec = curves[s]
            ax.plot(rec, prec, lw=1.6, label='%s (%.3f)' % (label, aps[s]))
        ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel='recall', ylabel='precision', title='%s: %s' % (title, s))
        ax.grid(alpha=0.3)
        ax.legend(loc='lower left', fontsize=8, title='AP', title_fontsize=8)
    return _save(fig, path)


def training_curves(rows, path, title=''):
    """Training log rows (dicts with phase, epoch and metric columns) -> one panel per metric, train
    (per logged interval and per epoch) and validation overlaid."""
    plt = _plt()
    keys = [k for k in ('acc', 'loss', 'boxL2', 'boxL1', 'lmL2', 'lmL1', 'lmNME', 'lr')
            if any(r.get(k) not in (None, '') for r in rows)]
    if not keys:
        return None
    cols = min(3, len(keys))
    nrows = -(-len(keys) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.2 * nrows), squeeze=False)
    for ax, key in zip(axes.ravel(), keys):
        for phase, style in (('train', dict(lw=0.8, alpha=0.5)), ('train_epoch', dict(lw=1.8, marker='o', ms=3)),
                             ('val', dict(lw=1.8, marker='s', ms=3))):
            pts = [(_epoch_x(r), float(r[key])) for r in rows if r.get('phase') == phase and r.get(key) not in (None, '')]
            if pts:
                x, y = zip(*pts)
                ax.plot(x, y, label={'train': 'train (interval)', 'train_epoch': 'train (epoch)',
                                     'val': 'validation'}[phase], **style)
        floor = [(_epoch_x(r), float(r['lmNME_floor'])) for r in rows
                 if key == 'lmNME' and r.get('phase') == 'val' and r.get('lmNME_floor') not in (None, '')]
        if floor:
            x, y = zip(*floor)
            ax.plot(x, y, 'k--', lw=1, label='mean shape (validation)')
        ax.set(xlabel='epoch', title=key + (' (%)' if key == 'lmNME' else ''))
        if key == 'lr':
            ax.set_yscale('log')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes.ravel()[len(keys):]:
        ax.axis('off')
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def _epoch_x(row):
    """Epoch position of a log row: interval rows sit inside their epoch by batch fraction."""
    e = float(row['epoch'])
    if row.get('phase') == 'train' and row.get('batch') and row.get('batches'):
        return e - 1 + float(row['batch']) / float(row['batches'])
    return e


def roc_plot(series, path, title='', xlabel='false positives', ylabel='true positive rate', xlim=None):
    """``series``: [(label, xs, ys)] on one axis."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for label, xs, ys in series:
        ax.plot(xs, ys, lw=1.6, label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title, ylim=(0, 1.01))
    if xlim:
        ax.set_xlim(*xlim)
    ax.grid(alpha=0.3)
    ax.legend(loc='lower right', fontsize=8)
    return _save(fig, path)


def ced_auc(errors, limit=0.1):
    """Area under the cumulative error distribution up to ``limit``, normalised to [0, 1]."""
    e = np.sort(np.asarray(errors, float))
    xs = np.linspace(0, limit, 1001)
    ys = np.searchsorted(e, xs, side='right') / max(len(e), 1)
    return float(np.trapz(ys, xs) / limit)


def ced_plot(errors, path, title='', limit=0.1):
    """Landmark cumulative error distribution: ``errors`` {label: per-face normalised errors}."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    xs = np.linspace(0, limit, 201)
    for label, err in errors.items():
        e = np.sort(np.asarray(err, float))
        ax.plot(xs * 100, np.searchsorted(e, xs, side='right') / max(len(e), 1), lw=1.6,
                label='%s (AUC@%g %.3f)' % (label, limit, ced_auc(e, limit)))
    ax.set(xlabel='NME (% of inter-ocular distance)', ylabel='fraction of faces', title=title, ylim=(0, 1.01),
           xlim=(0, limit * 100))
    ax.grid(alpha=0.3)
    ax.legend(loc='lower right', fontsize=8)
    return _save(fig, path)


def learning_curve_plot(points, path, title='learning curve'):
    """``points``: [(fraction of training images, {name: AP})] -> AP against data."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    names = list(points[0][1])
    xs = [100 * p[0] for p in points]
    for name in names:
        ax.plot(xs, [p[1][name] for p in points], marker='o', lw=1.6, label=name)
    ax.set(xlabel='training images used (%)', ylabel='AP', title=title, xticks=xs)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def ensure_dir(path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)


def scale_plot(rows, path, title='cost against data size'):
    """``rows``: dicts with ``stage``, ``scale``, ``seconds``, ``mem_mb``, ``disk_mb`` (and ``stopped``: a
    run cut short, left out of the time panel); one panel per cost, one line per stage, log-log, with a
    dotted line of slope 1 (cost proportional to data) through the panel's middle 1× value."""
    plt = _plt()
    keys = [('seconds', 'wall time (s)'), ('mem_mb', 'peak memory, all processes (MB)'), ('disk_mb', 'disk written (MB)')]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    stages = list(dict.fromkeys(r['stage'] for r in rows))
    scales = sorted({r['scale'] for r in rows})
    colours = plt.get_cmap('tab20').colors
    for ax, (key, label) in zip(axes, keys):
        firsts = []
        for i, stage in enumerate(stages):
            pts = sorted((r['scale'], r[key]) for r in rows if r['stage'] == stage and r.get(key)
                         and r[key] > 0 and not (key == 'seconds' and r.get('stopped')))
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker='os^D'[i % 4], color=colours[(2 * i) % 20
                        + (i >= 10)], ls='-' if i < 10 else '--', label=stage)
                if pts[0][0] == scales[0]:
                    firsts.append(pts[0][1])
        if firsts:
            mid = float(np.median(firsts))
            ax.plot(scales, [mid * s / scales[0] for s in scales], 'k:', lw=1, label='∝ data')
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_xticks(scales)
        ax.set_xticklabels(['%g×' % s for s in scales])
        ax.set_xlabel('data size (× the subset)')
        ax.set_title(label)
        ax.grid(True, which='both', alpha=0.3)
    axes[0].legend(fontsize=7, ncol=2, loc='upper left')
    fig.suptitle(title)
    return _save(fig, path)
