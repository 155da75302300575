"""Peer detectors behind the call interface of this project's cascade, for benchmarks and as
anchors: the original MTCNN Caffe models (Zhang et al.; :mod:`core.runtime.caffe_model`) run by this
project's cascade code (:func:`caffe_mtcnn`), YuNet (``cv2.FaceDetectorYN``) and OpenCV's Haar cascade;
the last two are callables ``img -> (boxes N×4 x1 y1 x2 y2, scores N)`` with a ``name``."""
import os

import numpy as np

from core.runtime.caffe_model import caffe_folder, caffe_stage
from core.recipes.cascade_settings import CascadeSettings


class YuNet:
    name = 'YuNet (cv2.FaceDetectorYN)'

    def __init__(self, model, score=0.3, nms=0.3):
        import cv2
        self.det = cv2.FaceDetectorYN.create(model, '', (320, 320), score, nms, 5000)

    def __call__(self, img):
        self.det.setInputSize((img.shape[1], img.shape[0]))
        _, faces = self.det.detect(img)
        if faces is None:
            return np.zeros((0, 4)), np.zeros(0)
        b = faces[:, :4].astype(np.float64)
        return np.c_[b[:, :2], b[:, :2] + b[:, 2:4]], faces[:, -1].astype(np.float64)


class Haar:
    name = 'OpenCV Haar (frontalface_default)'

    def __init__(self):
        import cv2
        self.cv2 = cv2
        self.det = cv2.CascadeClassifier(os.path.join(cv2.data.haarcascades,
                                                      'haarcascade_frontalface_default.xml'))

    def __call__(self, img):
        gray = self.cv2.cvtColor(img, self.cv2.COLOR_BGR2GRAY)
        rects, _, weights = self.det.detectMultiScale3(gray, scaleFactor=1.1, minNeighbors=3,
                                                       minSize=(16, 16), outputRejectLevels=True)
        if len(rects) == 0:
            return np.zeros((0, 4)), np.zeros(0)
        r = np.asarray(rects, np.float64)
        return np.c_[r[:, :2], r[:, :2] + r[:, 2:]], np.asarray(weights, np.float64).ravel()



# The original MTCNN's own thresholds (Zhang et al.: 0.6 / 0.7 / 0.7) and the minimum face of 24 with
# which it is the landmark anchor (tools/eval_landmarks.py --peer caffe); benchmarks set the minimum face
# of the detectors they compare.
CAFFE_MTCNN = CascadeSettings(thresh=(0.6, 0.7, 0.7), min_face=24.0)


def caffe_mtcnn(settings=CAFFE_MTCNN, folder=None):
    """The original MTCNN (det1–3) through :class:`core.detect.detector.MtcnnDetector` with area resampling,
    as the canonical ports (MATLAB ``imresample`` / ``cv2.INTER_AREA``); None when the models are absent."""
    import cv2
    from .detector import MtcnnDetector
    folder = caffe_folder(folder)
    if not os.path.isdir(folder):
        return None
    stages = [caffe_stage(kind, folder) for kind in ('pnet', 'rnet', 'onet')]
    return MtcnnDetector(*stages, settings=settings, interp=cv2.INTER_AREA)
