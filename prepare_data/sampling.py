"""Sampling geometry of the original ``gen_data.py``, one image at a time.

Per image: random negatives until ``50·base_num`` are kept; then for each usable face
(max side ≥ 40, x1, y1 ≥ 0, score ≥ prob_thresh) ``6·base_num`` near-face negative attempts and
``25·base_num`` positive/part attempts. IoU uses the +1 convention with crop box [x, y, x+s, y+s].

Fixes of the original's crashes: an image whose short side is too small for the size range
(min(W,H)/2 ≤ S) gives no random/near negatives instead of raising, the random-negative loop
stops after ``MAX_NEG_TRIES·base_num`` attempts (counted in the stats), and a face box narrower or
lower than ``MIN_SIDE`` pixels (its ±0.2·side jitter would be an empty range) is skipped and counted
(``faces_degenerate``). Every crop lies inside the image.
"""
import random

import cv2
import numpy as np

from core.common.boxes import iou_matrix
from core.common.fileio import NEGATIVE, PART, POSITIVE
from core.recipes.pipeline_recipe import DataSettings, StagePlan

MAX_NEG_TRIES = 5000
MIN_SIDE = 5  # a face box's smaller side, in pixels, for its ±0.2·side jitter to be a range
CLASS_NAMES = {POSITIVE: 'pos', PART: 'part', NEGATIVE: 'neg'}
STAGE_KINDS = {12: 'pnet', 16: 'pnet', 20: 'pnet', 24: 'rnet', 48: 'onet'}  # sample size: the net it trains
NEG_LABEL = np.zeros(5, np.float32)


class _Boxes:
    """Max-IoU queries (+1 pixel convention) against an image's boxes. Sampling asks this a hundred
    thousand times per image set with one box at a time, so the usual few boxes are checked in plain
    Python (5x faster than numpy at that size); many boxes go through core.common.boxes.iou_matrix."""

    def __init__(self, boxes):
        self.arr = boxes
        self.rows = [(float(a), float(b), float(c), float(d), float((c - a + 1) * (d - b + 1)))
                     for a, b, c, d in boxes]

    def max_iou(self, x1, y1, x2, y2):
        if len(self.rows) > 24:
            return float(iou_matrix(np.array([[x1, y1, x2, y2]], np.float64), self.arr).max())
        area = (x2 - x1 + 1) * (y2 - y1 + 1)
        best = 0.0
        for a, b, c, d, ar in self.rows:
            w = min(x2, c) - max(x1, a) + 1
            if w <= 0:
                continue
            h = min(y2, d) - max(y1, b) + 1
            if h <= 0:
                continue
            inter = w * h
            o = inter / (area + ar - inter)
            if o > best:
                best = o
        return best


def _crop(img, x, y, s, size):
    return cv2.resize(img[y:y + s, x:x + s], (size, size), interpolation=cv2.INTER_LINEAR)


def _random_negatives(shape, query, size, base_num, rand, stats):
    """Random squares until ``50·base_num`` negatives (IoU < 0.3 with every box) are kept."""
    h, w = shape
    half = min(w, h) // 2
    kept, tries = 0, 0
    while kept < 50 * base_num:
        if tries >= MAX_NEG_TRIES * base_num:
            stats['neg_loop_capped'] = stats.get('neg_loop_capped', 0) + 1
            return
        tries += 1
        s = rand(size, half)
        x, y = rand(0, w - s), rand(0, h - s)
        if query.max_iou(x, y, x + s, y + s) < 0.3:
            kept += 1
            yield NEGATIVE, (x, y, s), NEG_LABEL


def _near_negatives(shape, query, face, size, base_num, rand):
    """``6·base_num`` squares overlapping the face's neighbourhood, kept when IoU < 0.3 with every box."""
    h, w = shape
    half = min(w, h) // 2
    x1, y1, bw, bh = face
    for _ in range(6 * base_num):
        s = rand(size, half)
        nx = max(0, x1 + rand(max(-s, -x1), bw))
        ny = max(0, y1 + rand(max(-s, -y1), bh))
        if nx + s <= w and ny + s <= h and query.max_iou(nx, ny, nx + s, ny + s) < 0.3:
            yield NEGATIVE, (nx, ny, s), NEG_LABEL


def _positives_and_parts(shape, box, size, base_num, rand):
    """``25·base_num`` jittered squares around the face: IoU ≥ 0.65 positive, ≥ 0.4 part (kept 41 %)."""
    h, w = shape
    x1, y1, x2, y2 = box
    bw, bh = int(x2 - x1 + 1), int(y2 - y1 + 1)
    gt = _Boxes(np.array([[x1, y1, x2, y2]], np.float64))
    lo, hi = int(0.8 * min(bw, bh)), int(np.ceil(1.25 * max(bw, bh)))
    for _ in range(25 * base_num):
        s = rand(lo, hi)
        dx = rand(int(-0.2 * bw), int(0.2 * bw))
        dy = rand(int(-0.2 * bh), int(0.2 * bh))
        nx = int(max(x1 + bw // 2 + dx - s // 2, 0))
        ny = int(max(y1 + bh // 2 + dy - s // 2, 0))
        if nx + s > w or ny + s > h:
            continue
        o = gt.max_iou(nx, ny, nx + s, ny + s)
        if o >= 0.65:
            cls = POSITIVE
        elif o >= 0.4 and rand(0, 100) <= 40:
            cls = PART
        else:
            continue
        label = np.array([cls, (x1 - nx) / s, (y1 - ny) / s, (x2 - nx - s) / s, (y2 - ny - s) / s], np.float32)
        yield cls, (nx, ny, s), label


def sample_boxes(shape, boxes, size, base_num=StagePlan.base_num, prob_thresh=0.0, probs=None, rng=None, stats=None,
                 min_face=DataSettings.min_face):
    """Yield (class, crop square (x, y, side), label vector [cls, dx1, dy1, dx2, dy2]) for an image of
    ``shape`` (h, w); the crop box is [x, y, x + side, y + side]. ``rng`` is a ``random.Random``
    (its ``randrange(a, b)`` draws from [a, b))."""
    rand = (rng if rng is not None else random.Random()).randrange
    stats = stats if stats is not None else {}
    h, w = shape
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    query = _Boxes(boxes)
    room = min(w, h) // 2 > size  # the original crashed on images too small for its size range
    if room:
        yield from _random_negatives(shape, query, size, base_num, rand, stats)
    else:
        stats['small_image'] = stats.get('small_image', 0) + 1
    for k, (x1, y1, x2, y2) in enumerate(boxes):
        bw, bh = int(x2 - x1 + 1), int(y2 - y1 + 1)
        score = probs[k] if probs is not None and k < len(probs) else 1.0
        if max(bw, bh) < min_face or x1 < 0 or y1 < 0 or score < prob_thresh:
            stats['faces_skipped'] = stats.get('faces_skipped', 0) + 1
            continue
        if min(bw, bh) < MIN_SIDE:
            stats['faces_degenerate'] = stats.get('faces_degenerate', 0) + 1
            continue
        stats['faces_used'] = stats.get('faces_used', 0) + 1
        if room:
            yield from _near_negatives(shape, query, (int(x1), int(y1), bw, bh), size, base_num, rand)
        yield from _positives_and_parts(shape, (int(x1), int(y1), x2, y2), size, base_num, rand)


def sample_image(img, boxes, size, base_num=StagePlan.base_num, prob_thresh=0.0, probs=None, rng=None, stats=None,
                 min_face=DataSettings.min_face):
    """Yield (class, S×S crop, label vector) for one image (see :func:`sample_boxes`); crops are
    resized with bilinear interpolation, as the original."""
    for cls, (x, y, s), label in sample_boxes(img.shape[:2], boxes, size, base_num, prob_thresh, probs, rng,
                                              stats, min_face):
        yield cls, _crop(img, x, y, s, size), label
