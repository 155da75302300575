"""ONNX export of inference models and an ONNX Runtime model with the same call interface.

Two fixes make MXNet 1.9.1's exporter work for these nets: softmax over axis 1 (already in the
symbols) and PReLU slopes reshaped to (C, 1, 1) so they broadcast over N×C×H×W.
Pnets are exported with dynamic height/width, the other nets with a dynamic batch.
"""
import os
import tempfile

import numpy as np

import symbols
import mxnet as mx


def export_onnx(model, path):
    """Write ``model`` (a :class:`core.model_io.InferenceModel`) to ``path`` as ONNX."""
    import onnx

    info = model.info
    size = info['size']
    params = {}
    prelu = _prelu_params(model.sym)
    for name, value in list(model.arg.items()) + list(model.aux.items()):
        if name in prelu:
            value = value.reshape((-1, 1, 1))
        params[name] = value.as_in_context(mx.cpu())
    if info['kind'] == 'pnet':
        dyn = [(None, 3, None, None)]
    else:
        dyn = [(None, 3, size, size)]
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = path + '.tmp'
    mx.onnx.export_model(model.sym, params, in_shapes=[(1, 3, size, size)], in_types=[np.float32],
                         onnx_file_path=tmp, dynamic=True, dynamic_input_shapes=dyn)
    graph_model = onnx.load(tmp)
    inits = {i.name for i in graph_model.graph.initializer}
    keep = [i for i in graph_model.graph.input if i.name not in inits]
    del graph_model.graph.input[:]
    graph_model.graph.input.extend(keep)
    onnx.save(graph_model, tmp)
    os.replace(tmp, path)
    return path


def _prelu_params(sym):
    import json
    return {n['name'] + '_gamma' for n in json.loads(sym.tojson())['nodes'] if n['op'] == 'LeakyReLU'}


class OnnxModel:
    """ONNX Runtime session with the call interface of ``InferenceModel``."""

    def __init__(self, path, network, threads=None):
        import onnxruntime as ort
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = int(threads)
        # no busy-waiting: on small shared CPUs spinning threads slow everything else down
        opts.add_session_config_entry('session.intra_op.allow_spinning', '0')
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(path, opts, providers=['CPUExecutionProvider'])
        self.input_name = self.session.get_inputs()[0].name
        self.network, self.path = network, path

    @property
    def info(self):
        return symbols.network_info(self.network)

    def __call__(self, batch):
        return self.session.run(None, {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)})


def to_onnx_model(model, folder=None, threads=None):
    """Export an ``InferenceModel`` to a (temporary) ONNX file and open it with ONNX Runtime."""
    folder = folder or tempfile.mkdtemp(prefix='mtcnn-onnx-')
    path = os.path.join(folder, '%s.onnx' % model.network)
    export_onnx(model, path)
    return OnnxModel(path, model.network, threads)
