"""The original MTCNN's Caffe nets (Zhang et al., MIT licence) through ``cv2.dnn``, behind the call
interface of :class:`core.runtime.model_io.InferenceModel`: peers in benchmarks (``core.detect.peers``)
and teachers in distillation (``core.train.teacher``)."""
import os

import numpy as np

from config import config

# kind -> (file number, input size, Pnet cell and stride)
CAFFE_NETS = {'pnet': (1, 12, dict(cell=12, stride=2)), 'rnet': (2, 24, {}), 'onet': (3, 48, {})}


def caffe_folder(folder=None):
    """The folder of det1–3.prototxt/.caffemodel (default: ``<shared>/models/caffe-mtcnn``)."""
    return folder or os.path.join(config.shared, 'models', 'caffe-mtcnn')


def caffe_files(kind, folder=None):
    """(prototxt, caffemodel) of the ``kind`` net in ``folder``."""
    n = CAFFE_NETS[kind][0]
    folder = caffe_folder(folder)
    return os.path.join(folder, 'det%d.prototxt' % n), os.path.join(folder, 'det%d.caffemodel' % n)


def caffe_stage(kind, folder=None):
    """The :class:`CaffeStage` of ``kind`` ('pnet', 'rnet' or 'onet')."""
    _, size, kw = CAFFE_NETS[kind]
    return CaffeStage(*caffe_files(kind, folder), kind, size, **kw)


class CaffeStage:
    """One original MTCNN Caffe net behind the ``InferenceModel`` call interface.

    Those nets take transposed RGB images (MATLAB's column-major layout): inputs are converted and
    the Pnet maps transposed back; their box offsets and landmarks already come in image x/y order
    (checked on 4.jpg: swapping them gives wide boxes and misses faces)."""

    def __init__(self, prototxt, caffemodel, kind, size, cell=None, stride=None):
        import cv2
        self.net = cv2.dnn.readNetFromCaffe(prototxt, caffemodel)
        self.kind = kind
        self.info = dict(kind=kind, size=size, n_points=5 if kind == 'onet' else 0)
        if kind == 'pnet':
            self.info.update(cell=cell, stride=stride)
        self.outs = {'pnet': ['prob1', 'conv4-2'], 'rnet': ['prob1', 'conv5-2'],
                     'onet': ['prob1', 'conv6-2', 'conv6-3']}[kind]
        self.network = 'caffe-' + kind

    def __call__(self, batch):
        x = np.ascontiguousarray(batch[:, ::-1].transpose(0, 1, 3, 2))
        self.net.setInput(x)
        outs = self.net.forward(self.outs)
        if self.kind == 'pnet':
            return [outs[0].transpose(0, 1, 3, 2), outs[1].transpose(0, 1, 3, 2)]
        return [o.reshape(len(x), -1) for o in outs]
