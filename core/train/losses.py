"""Losses with online hard example mining, in native MXNet operators.

* classification: softmax cross-entropy over positives and negatives (label ≥ 0); with OHEM the
  hardest ``floor(ratio · n_valid)`` by −log p are kept; mean over kept samples;
* box regression: squared error summed over the 4 offsets, positives and parts (|type| = 1), OHEM by
  that error; ``weight · Σ_kept ‖b − t‖² / K``;
* landmarks: Onet-with-landmark on landmark samples (type −2), Lnet/Lnet106 on all samples; OHEM
  (off by default) by the summed L1 error, then samples with L1 < thresh·coords dropped; squared
  error (the original) or, with ``cfg.landmark_loss = 'l1'``, absolute error, or ``'wing'``: the wing
  loss of Feng et al. (CVPR 2018), ``w·ln(1 + |d|/ε)`` below ``w`` and ``|d| − C`` above (``cfg.wing =
  (w, ε)`` in the targets' units, fractions of the crop), which weights small errors more than L1.

Every function takes ``F`` (``mx.nd`` or ``mx.sym``): the training loop builds the losses into the
network's cached graph (one call per step instead of ~60 Python-dispatched operators). Selections
are made on device with a double argsort (rank of each sample), so nothing goes back to the host;
a batch without samples for a task contributes exactly 0 (never NaN).

Distillation (``cfg.teacher = (weight a, temperature T, with boxes)`` and a ``teacher`` input, see
:mod:`core.train.teacher`): classification becomes ``(1 − a)·hard + a·T²·KL(q_T ‖ p_T)`` over every sample
the teacher scored — parts and negatives included, which the hard loss ignores or calls plain
non-faces — with ``q_T``, ``p_T`` the teacher's and the student's two-class softmax at temperature T;
boxes become ``(1 − a)·hard + a·`` the same squared error against the teacher's offsets (positives and
parts) and an Onet with a landmark head also learns the teacher's points on positives, ``a·`` its squared
error (landmark weight) when ``with boxes``. The defaults
reproduce the original HEAD's gradient scales (bbox 4(b − t)/K, 5-point landmarks 4(l − t)/K,
106-point 2(l − t)/K) but with a true cross-entropy for classification.
"""
import mxnet as mx

nd = mx.nd
LANDMARK_LOSSES = ('l2', 'l1', 'wing')


def _keep_top(key, valid, ratio, ohem, F=nd):
    """0/1 mask of the ``floor(ratio·n_valid)`` largest ``key`` among ``valid`` (all valid if not ohem)."""
    valid = F.cast(valid, 'float32')
    if not ohem:
        return valid
    masked = F.where(valid > 0, key, F.ones_like(key) * -1e30)
    rank = F.argsort(F.argsort(-masked))  # 0 = largest
    k = F.floor(ratio * F.sum(valid))
    return F.broadcast_lesser(rank, k) * valid


def cls_loss(logits, label, ratio, ohem, F=nd):
    """(loss, keep mask, probabilities)."""
    logp = F.log_softmax(logits, axis=1)
    valid = label >= 0
    nll = -F.pick(logp, F.maximum(label, 0), axis=1)
    keep = F.stop_gradient(_keep_top(F.stop_gradient(nll), valid, ratio, ohem, F))
    loss = F.sum(nll * keep) / F.maximum(F.sum(keep), 1)
    return loss, keep, F.exp(F.stop_gradient(logp))


def _wing(diff, w, eps, F=nd):
    """Element-wise wing loss: ``w·ln(1 + |d|/ε)`` for ``|d| < w``, else ``|d| − C`` (continuous at w)."""
    import math
    a = F.abs(diff)
    c = w - w * math.log(1 + w / eps)
    return F.where(a < w, w * F.log(1 + a / eps), a - c)


def reg_loss(pred, target, valid, ratio, ohem, weight, l1_thresh=None, F=nd, n_coords=None, l1=False, wing=None):
    """Squared-error (``l1``: absolute-error; ``wing=(w, ε)``: wing) regression with OHEM; (loss, keep
    mask). ``n_coords`` (default: pred's width) scales ``l1_thresh``."""
    diff = pred - target
    if wing is not None:
        se = F.sum(_wing(diff, wing[0], wing[1], F), axis=1)
    else:
        se = F.sum(F.abs(diff), axis=1) if l1 else F.sum(diff * diff, axis=1)
    key = F.sum(F.abs(F.stop_gradient(diff)), axis=1) if l1_thresh is not None else F.stop_gradient(se)
    keep = _keep_top(key, valid, ratio, ohem, F)
    if l1_thresh is not None and ohem:
        keep = keep * (key >= l1_thresh * (n_coords or pred.shape[1]))
    keep = F.stop_gradient(keep)
    return weight * F.sum(se * keep) / F.maximum(F.sum(keep), 1), keep


def _landmark_kind(cfg):
    """reg_loss keywords of the configured landmark loss."""
    kind = cfg['landmark_loss']
    if kind not in LANDMARK_LOSSES:
        raise ValueError('unknown landmark loss %r (%s)' % (kind, ', '.join(LANDMARK_LOSSES)))
    if kind == 'wing' and not cfg.get('wing'):
        raise ValueError("the wing loss needs cfg.wing = (w, eps)")
    return dict(l1=kind == 'l1', wing=tuple(cfg['wing']) if kind == 'wing' else None)


def teacher_losses(outputs, batch, cfg, with_landmark, F=nd):
    """Distillation terms: {'cls': (kd, has), 'bbox': box loss, 'landmark': points loss or None}."""
    t = batch['teacher']
    temp = float(cfg.teacher[1])
    has = F.slice_axis(t, axis=1, begin=0, end=1).reshape((-1,))
    p_t = F.clip(F.slice_axis(t, axis=1, begin=1, end=2).reshape((-1,)), 1e-6, 1 - 1e-6)
    q1 = F.sigmoid((F.log(p_t) - F.log(1 - p_t)) / temp)
    q = F.stack(1 - q1, q1, axis=1)
    logs = F.log_softmax(outputs[0].reshape((0, 2)) / temp, axis=1)
    kl = F.sum(q * (F.log(q) - logs), axis=1)
    kd = temp * temp * F.sum(kl * has) / F.maximum(F.sum(has), 1)
    sel = has * (F.abs(batch['type_label']) == 1)
    d = outputs[1].reshape((0, 4)) - F.slice_axis(t, axis=1, begin=2, end=6)
    box = cfg.bbox_weight * F.sum(F.sum(d * d, axis=1) * sel) / F.maximum(F.sum(sel), 1)
    points = None
    if with_landmark:
        selp = F.slice_axis(t, axis=1, begin=6, end=7).reshape((-1,)) * (batch['type_label'] == 1)
        dp = outputs[2].reshape((0, 10)) - F.slice_axis(t, axis=1, begin=7, end=17)
        points = cfg.landmark_weight * F.sum(F.sum(dp * dp, axis=1) * selp) / F.maximum(F.sum(selp), 1)
    return {'cls': (kd, F.stop_gradient(has)), 'bbox': box, 'landmark': points}


def stage_losses(outputs, batch, kind, cfg, with_landmark, F=nd, n_coords=None):
    """Total loss and per-task (loss, keep) for a P/R/O net or a landmark net.

    ``outputs``: the train-mode heads; ``batch``: label, bbox_target, type_label, landmark_target
    (NDArrays, or Symbols with ``F=mx.sym`` and the landmark net's ``n_coords`` given).
    ``cfg``: OHEM switches/ratios and loss weights (config.py)."""
    parts = {}
    if kind == 'lnet':
        pts = outputs[0]
        n_coords = n_coords or pts.shape[1]
        valid = F.ones_like(F.sum(F.stop_gradient(pts), axis=1))
        parts['landmark'] = reg_loss(pts, batch['landmark_target'], valid, cfg.LANDMARK_OHEM_RATIO,
                                     cfg.LANDMARK_OHEM, cfg.landmark_weight_106 if n_coords == 212 else cfg.landmark_weight,
                                     cfg.landmark_L1_thresh if cfg.LANDMARK_OHEM else None, F, n_coords,
                                     **_landmark_kind(cfg))
        return parts['landmark'][0], parts
    parts['cls'] = cls_loss(outputs[0], batch['label'], cfg.CLS_OHEM_RATIO, cfg.CLS_OHEM, F)
    parts['bbox'] = reg_loss(outputs[1], batch['bbox_target'], F.abs(batch['type_label']) == 1,
                             cfg.BBOX_OHEM_RATIO, cfg.BBOX_OHEM, cfg.bbox_weight, F=F)
    cls, box = parts['cls'][0], parts['bbox'][0]
    if cfg.get('teacher') and batch.get('teacher') is not None:
        a = float(cfg.teacher[0])
        distil = teacher_losses(outputs, batch, cfg, with_landmark, F)
        parts['teacher'] = distil['cls']
        cls = (1 - a) * cls + a * distil['cls'][0]
        if cfg.teacher[2]:  # with boxes
            box = (1 - a) * box + a * distil['bbox']
            if distil['landmark'] is not None:
                box = box + a * distil['landmark']
    total = cfg.cls_weight * cls + box
    if with_landmark:
        parts['landmark'] = reg_loss(outputs[2], batch['landmark_target'], batch['type_label'] == -2,
                                     cfg.LANDMARK_OHEM_RATIO, cfg.LANDMARK_OHEM, cfg.landmark_weight,
                                     cfg.landmark_L1_thresh if cfg.LANDMARK_OHEM else None, F, 10,
                                     **_landmark_kind(cfg))
        total = total + parts['landmark'][0]
    return total, parts
