"""The original's training metrics, accumulated until ``reset``.

``acc`` and ``loss`` over the OHEM-kept classification samples; ``boxL2``/``boxL1`` per coordinate
over the kept box samples; ``lmL2``/``lmL1`` per coordinate over all samples for landmark-only nets
and over the kept landmark samples for Onet-with-landmark; ``lmNME`` (5 points): the mean point error
over the distance of the target's eye centres, in percent (the NME of tools/eval_landmarks.py), and
with a ``mean_shape`` given, ``lmNME_floor``: the NME of always answering that shape (the level a net
that learned nothing reaches). ``kd`` (distillation): the classification's T²·KL to the teacher over
the samples it scored.
"""
import numpy as np

EPS = 1e-14


def _nme(d, iod):
    """Per sample: mean point distance of 5-point differences ``d`` (x1..x5, y1..y5) over ``iod``."""
    return np.hypot(d[:, :5], d[:, 5:]).mean(1) / np.maximum(iod, 1e-6)


class StageMetrics:
    def __init__(self, kind, with_landmark, mean_shape=None):
        self.kind, self.with_landmark = kind, with_landmark
        self.mean_shape = None if mean_shape is None else np.asarray(mean_shape, np.float32)
        self.reset()

    def reset(self):
        self.sums = {}
        self.counts = {}

    def _add(self, name, value, count):
        self.sums[name] = self.sums.get(name, 0.0) + float(value)
        self.counts[name] = self.counts.get(name, 0.0) + float(count)

    def update(self, outputs, batch, parts):
        """``outputs``/``batch``/``parts`` as numpy (see core.train.losses.stage_losses)."""
        if 'cls' in parts:
            _, keep, prob = parts['cls']
            label = batch['label']
            k = keep > 0
            lbl = np.maximum(label, 0).astype(int)
            p = prob[np.arange(len(prob)), lbl]
            self._add('acc', (np.argmax(prob, 1)[k] == lbl[k]).sum(), k.sum())
            self._add('loss', (-np.log(p[k] + EPS)).sum(), k.sum())
        if 'teacher' in parts:
            kd, has = parts['teacher']
            self._add('kd', float(np.ravel(kd)[0]) * has.sum(), has.sum())
        if 'bbox' in parts:
            keep = parts['bbox'][1] > 0
            d = outputs[1][keep] - batch['bbox_target'][keep]
            self._add('boxL2', (d ** 2).sum(), d.size)
            self._add('boxL1', np.abs(d).sum(), d.size)
        if 'landmark' in parts:
            pred = outputs[0] if self.kind == 'lnet' else outputs[2]
            if self.kind == 'lnet':
                sel = np.ones(len(pred), bool)
            else:
                sel = parts['landmark'][1] > 0
            d = pred[sel] - batch['landmark_target'][sel]
            self._add('lmL2', (d ** 2).sum(), d.size)
            self._add('lmL1', np.abs(d).sum(), d.size)
            if d.shape[1] == 10 and len(d):
                t = batch['landmark_target'][sel]
                iod = np.hypot(t[:, 1] - t[:, 0], t[:, 6] - t[:, 5])
                self._add('lmNME', 100.0 * _nme(d, iod).sum(), len(d))
                if self.mean_shape is not None and self.mean_shape.shape == (10,):
                    self._add('lmNME_floor', 100.0 * _nme(self.mean_shape - t, iod).sum(), len(d))

    def get(self):
        return {k: self.sums[k] / self.counts[k] if self.counts[k] else 0.0 for k in self.sums}

    def format(self):
        return '\t'.join('%s=%f' % kv for kv in self.get().items())
