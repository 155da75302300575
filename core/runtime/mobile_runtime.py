"""NCNN and MNN models with the call interface of :class:`core.runtime.model_io.InferenceModel`.

What ``tools/export.py --to ncnn|mnn`` writes, run in its own runtime through the ``ncnn`` and ``MNN``
Python packages (optional: ``pip install ncnn MNN``), so that a converted cascade is checked where it
will run. Nothing here imports MXNet. Both run in float32 (NCNN's fp16/bf16 storage and arithmetic are
switched off: they moved Pnet outputs by ~3e-3, enough to move boxes).
"""
import os

import numpy as np
from core.common.fileio import FormatError
from core.common.errors import ModelError

RUNTIMES = ('onnxruntime', 'ncnn', 'mnn')


def stage_info(entry):
    """The network metadata a detector reads (kind, size, n_points, cell, stride) of a cascade.json stage."""
    return {k: entry[k] for k in ('kind', 'size', 'n_points', 'cell', 'stride') if k in entry}


def _missing(package, exc):
    return ImportError('the %s runtime is not installed (pip install %s): %s' % (package, package, exc))


class _Model:
    """Common part: stage metadata (``info``), output names, per-sample or whole-batch calls."""

    def __init__(self, entry):
        self.info = stage_info(entry)
        self.network = entry.get('network')
        self.input = entry.get('input', 'data')
        self.outputs = list(entry['outputs'])
        self.with_landmark = len(self.outputs) == 3


class NcnnModel(_Model):
    """An NCNN net (``.param`` + ``.bin``). NCNN's blobs have no batch axis: a batch runs one sample
    at a time (what NCNN does internally as well)."""

    def __init__(self, param, weights, entry, threads=1):
        super().__init__(entry)
        try:
            import ncnn
        except ImportError as exc:
            raise _missing('ncnn', exc) from None
        self._ncnn = ncnn
        opt = ncnn.Option()  # net.opt returns a copy: set a whole Option
        opt.num_threads = int(threads or 1)
        opt.use_fp16_storage = opt.use_fp16_packed = opt.use_fp16_arithmetic = False
        opt.use_bf16_storage = False
        opt.use_vulkan_compute = False
        self.net = ncnn.Net()
        self.net.opt = opt
        for path, load in ((param, self.net.load_param), (weights, self.net.load_model)):
            if load(path) != 0:
                raise ModelError('%s: NCNN cannot load it' % path)

    def _one(self, x):
        ex = self.net.create_extractor()
        ex.input(self.input, self._ncnn.Mat(np.ascontiguousarray(x)))
        outs = []
        for name in self.outputs:
            ret, mat = ex.extract(name)
            if ret != 0:
                raise ModelError('NCNN: no output %r' % name)
            outs.append(np.array(mat, dtype=np.float32))
        return outs

    def __call__(self, batch):
        batch = np.asarray(batch, dtype=np.float32)
        parts = [self._one(x) for x in batch]
        if not parts:
            return [np.zeros((0,), np.float32) for _ in self.outputs]
        # per sample: C×H×W for a Pnet, a flat vector for the others
        return [np.stack([p[k].reshape(-1) if self.info['kind'] != 'pnet' else p[k] for p in parts])
                for k in range(len(self.outputs))]


class MnnModel(_Model):
    """An MNN model (``.mnn``) run through MNN's expression API, which takes any input shape (the Pnet's
    pyramid levels, any batch of crops)."""

    def __init__(self, path, entry, threads=1):
        super().__init__(entry)
        try:
            import MNN.expr as F
            import MNN.nn as nn
        except ImportError as exc:
            raise _missing('MNN', exc) from None
        self._F = F
        config = {'backend': 'CPU', 'numThread': int(threads or 1), 'precision': 'high'}
        runtime = nn.create_runtime_manager((config,))
        self.net = nn.load_module_from_file(path, [self.input], self.outputs, runtime_manager=runtime)

    def __call__(self, batch):
        F = self._F
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if len(batch) == 0:
            return [np.zeros((0,), np.float32) for _ in self.outputs]
        outs = self.net.forward([F.const(batch, list(batch.shape), F.NCHW)])
        return [np.array(F.convert(o, F.NCHW).read(), dtype=np.float32) for o in outs]


def open_stage(folder, entry, runtime='onnxruntime', threads=1):
    """The model of one stage entry of a cascade.json (tools/export.py, tools/export_onnx.py --cascade)."""
    if runtime == 'onnxruntime':
        from .onnx_runtime import OnnxModel
        return OnnxModel(os.path.join(folder, entry['file']), entry['network'], threads, info=stage_info(entry))
    if runtime == 'ncnn':
        return NcnnModel(os.path.join(folder, entry['param']), os.path.join(folder, entry['bin']), entry, threads)
    if runtime == 'mnn':
        return MnnModel(os.path.join(folder, entry['file']), entry, threads)
    raise FormatError('unknown runtime %r (%s)' % (runtime, ', '.join(RUNTIMES)))
