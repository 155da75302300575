"""Minimal line plots to PNG with OpenCV (no matplotlib dependency)."""
import os

import cv2
import numpy as np

COLORS = [(200, 80, 30), (40, 160, 40), (30, 30, 220), (160, 40, 160), (20, 150, 200), (90, 90, 90)]


def line_plot(series, path, title='', xlabel='', ylabel='', xlim=None, ylim=(0.0, 1.0), logx=False,
              size=(640, 480)):
    """Draw ``series`` = [(label, xs, ys), ...] into ``path`` (PNG)."""
    w, h = size
    left, right, top, bottom = 60, 20, 40, 50
    img = np.full((h, w, 3), 255, np.uint8)
    xs_all = np.concatenate([np.asarray(s[1], float) for s in series]) if series else np.array([0., 1.])
    if logx:
        xs_all = np.log10(np.maximum(xs_all, 1e-9))
    x0, x1 = xlim if xlim else (float(np.nanmin(xs_all)), float(np.nanmax(xs_all)))
    if x1 <= x0:
        x1 = x0 + 1
    y0, y1 = ylim

    def px(x, y):
        x = np.log10(max(x, 1e-9)) if logx else x
        u = left + (x - x0) / (x1 - x0) * (w - left - right)
        v = h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom)
        return int(round(u)), int(round(v))

    cv2.rectangle(img, (left, top), (w - right, h - bottom), (0, 0, 0), 1)
    for k in range(6):
        fy = y0 + (y1 - y0) * k / 5.0
        u, v = px(x0 if not logx else 10 ** x0, fy)
        cv2.putText(img, '%.1f' % fy, (5, v + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.line(img, (left, v), (w - right, v), (230, 230, 230), 1)
    for k in range(6):
        fx = x0 + (x1 - x0) * k / 5.0
        val = 10 ** fx if logx else fx
        u = int(round(left + k / 5.0 * (w - left - right)))
        cv2.putText(img, ('%.0f' % val) if abs(val) >= 10 else '%.2f' % val, (u - 12, h - bottom + 15),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    for i, (label, xs, ys) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        pts = [px(x, y) for x, y in zip(xs, ys) if np.isfinite(x) and np.isfinite(y)]
        if len(pts) > 1:
            cv2.polylines(img, [np.array(pts, np.int32)], False, color, 2, cv2.LINE_AA)
        cv2.putText(img, label, (left + 10, top + 20 + 18 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.5, color, 1,
                    cv2.LINE_AA)
    cv2.putText(img, title, (left, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, xlabel, (w // 2 - 20, h - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, ylabel, (5, top - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    cv2.imwrite(path, img)
    return path
