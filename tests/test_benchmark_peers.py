"""Peer benchmark plumbing: the Caffe MTCNN adapter, YuNet and Haar wrappers on a real image."""
import os

import numpy as np

from core.detect import peers as bp
from conftest import shared_path


def _img():
    import cv2
    return cv2.imread(shared_path('images', '4.jpg'))


def test_caffe_mtcnn_through_the_cascade_finds_the_four_faces():
    det = bp.caffe_mtcnn(bp.CAFFE_MTCNN.replace(min_face=20), folder=shared_path('models', 'caffe-mtcnn'))
    boxes, scores, points = det.detect(_img())
    ref = np.loadtxt(shared_path('reference', 'train-mtcnn-4jpg-dets.txt'), comments='#')
    for r in ref:  # the four faces are found (other detections may be added)
        iou_x = np.minimum(boxes[:, 2], r[2]) - np.maximum(boxes[:, 0], r[0])
        iou_y = np.minimum(boxes[:, 3], r[3]) - np.maximum(boxes[:, 1], r[1])
        assert (np.clip(iou_x, 0, None) * np.clip(iou_y, 0, None) > 0.5 * (r[2] - r[0]) * (r[3] - r[1])).any()
    h = boxes[:, 3] - boxes[:, 1]
    w = boxes[:, 2] - boxes[:, 0]
    assert np.all(h > w)  # faces are taller than wide: offsets are in image x/y order
    assert points.shape == (len(boxes), 5, 2)
    inside = (points[:, :, 0] >= boxes[:, None, 0]) & (points[:, :, 0] <= boxes[:, None, 2])
    assert inside.all()


def test_yunet_and_haar_wrappers():
    yunet = bp.YuNet(shared_path('models', 'peers', 'face_detection_yunet_2026may.onnx'))
    boxes, scores = yunet(_img())
    assert len(boxes) >= 4 and boxes.shape[1] == 4 and np.all(boxes[:, 2] > boxes[:, 0])
    boxes, scores = bp.Haar()(_img())
    assert boxes.shape[1] == 4 and len(scores) == len(boxes)
