"""ONNX Runtime and OpenCV DNN models with the call interface of :class:`core.runtime.model_io.InferenceModel`.

Nothing here imports MXNet: a cascade exported with ``tools/export_onnx.py --cascade`` runs with
numpy, OpenCV and ONNX Runtime alone (``tools/detect_onnx.py``); :func:`core.export.onnx_export.to_onnx_model`
opens an MXNet model this way. ONNX Runtime gets graphs without PRelu
(:func:`core.export.onnx_export.runtime_rewrites`), which it runs up to 2.7x faster. OpenCV's DNN
module runs the plain graph, which it fuses itself; it is now the slower of the two (4.jpg with the
shipped models, 2 threads: Pnet pyramid 16 ms against ONNX Runtime's 12 ms, ``tools/bench_detector.py``).
"""
import os
import shutil
import tempfile

import numpy as np


def _ort_scratch():
    """The folder ``onnxruntime``'s import writes its session file (``.ses``) into: a fixed folder in the
    user's cache (``$XDG_CACHE_HOME`` or ``~/.cache``, then ``train-mtcnn/onnxruntime``), reused by every
    process, so a process killed in the middle of the import leaves nothing in the temp folder."""
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    path = os.path.join(base, 'train-mtcnn', 'onnxruntime')
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK) else None


def onnxruntime():
    """The ``onnxruntime`` module, imported with the temp folder pointed at :func:`_ort_scratch` (its
    import writes a telemetry session file into the temp folder)."""
    import sys
    if 'onnxruntime' in sys.modules:
        return sys.modules['onnxruntime']
    scratch, old = _ort_scratch(), os.environ.get('TMPDIR')
    if scratch is None:  # no writable cache folder: a scratch folder in the temp folder, removed after
        scratch = made = tempfile.mkdtemp(prefix='mtcnn-ort-')
    else:
        made = None
    os.environ['TMPDIR'] = scratch
    try:
        import onnxruntime as ort
    finally:
        if old is None:
            os.environ.pop('TMPDIR', None)
        else:
            os.environ['TMPDIR'] = old
        if made:
            shutil.rmtree(made, ignore_errors=True)
    return ort


class OnnxModel:
    """An ONNX Runtime session of ``path`` (a file, or the model's bytes); ``info`` is the network's metadata (kind, size, cell, stride,
    n_points), given or looked up in the registry from ``network``."""

    def __init__(self, path, network=None, threads=None, info=None):
        ort = onnxruntime()
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = int(threads)
        # no busy-waiting: on small shared CPUs spinning threads slow everything else down
        opts.add_session_config_entry('session.intra_op.allow_spinning', '0')
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(path, opts, providers=['CPUExecutionProvider'])
        self.input_name = self.session.get_inputs()[0].name
        self.network, self.path = network, path
        self.with_landmark = len(self.session.get_outputs()) == 3
        self._info = dict(info) if info else None

    @classmethod
    def from_portable(cls, spec, threads=None):
        """A model of :func:`core.export.onnx_export.portable`'s dict."""
        out = cls(spec['onnx'], spec['network'], threads, info=spec['info'])
        out.with_landmark = spec['with_landmark']
        return out

    @property
    def info(self):
        if self._info is None:
            import symbols
            self._info = symbols.network_info(self.network)
        return self._info

    def __call__(self, batch):
        return self.session.run(None, {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)})


class OpenCVModel:
    """An OpenCV DNN net of an ONNX model (its bytes). OpenCV fixes the reshape shapes of a graph at
    its first input, so Rnet/Onet/Lnet batches run one crop at a time (correct for any batch; a crop
    costs 0.1–0.3 ms). ``threads`` sets OpenCV's thread count, which is process-wide."""

    def __init__(self, proto, network=None, threads=None, info=None):
        import cv2
        if threads:
            cv2.setNumThreads(int(threads))
        self.net = cv2.dnn.readNetFromONNX(np.frombuffer(proto.SerializeToString(), np.uint8))
        self.net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        self.net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        self.outputs = [o.name for o in proto.graph.output]
        self.network, self.with_landmark = network, len(self.outputs) == 3
        self.info = dict(info)
        self._whole = self.info['kind'] == 'pnet'

    def _run(self, x):
        self.net.setInput(x)
        return self.net.forward(self.outputs)

    def __call__(self, batch):
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if self._whole or len(batch) == 1:
            return [np.array(o) for o in self._run(batch)]
        parts = [self._run(batch[i:i + 1]) for i in range(len(batch))]
        return [np.concatenate(p) for p in zip(*parts)] if parts else [np.zeros((0,))] * len(self.outputs)
