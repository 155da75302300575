"""Sample sinks: packed RecordIO (default) or the original's one-JPEG-per-crop layout.

Both are append-only and can be truncated back to a recorded state, so an interrupted run
resumes exactly where its last checkpoint left off. Class files: ``pos``, ``part``, ``neg``,
``neg_hard``, ``landmark`` (lists in jpg mode: ``pos.txt`` … with the original's line format).
"""
import os

import cv2

from core.common.packed import RecordWriter, encode_raw, frame_many, pack
from core.common.errors import SettingError

FOLDERS = {'pos': 'positive', 'part': 'part', 'neg': 'negative', 'neg_hard': 'neg_hard',
           'landmark': 'landmark', 'landmark106': 'landmark106'}
JPEG_QUALITY = 95  # OpenCV's default, as the original


def encode(img, encoding='jpeg'):
    """Crop bytes: ``jpeg`` (quality 95, as the original) or ``raw`` square BGR pixels."""
    if encoding == 'raw':
        return encode_raw(img)
    ok, buf = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise IOError('JPEG encoding failed')
    return buf.tobytes()


def format_label(label):
    """The original's list-line tail: integer class code then %.2f values."""
    code = int(round(float(label[0])))
    return ' '.join([str(code)] + ['%.2f' % v for v in label[1:]]) if code != 0 else '0'


class PackedSink:
    format = 'packed'

    def __init__(self, folder, classes, state=None):
        os.makedirs(folder, exist_ok=True)
        self.folder = folder
        state = state or {}
        self.writers = {c: RecordWriter(os.path.join(folder, c), tuple(state.get(c, (0, 0))))
                        for c in classes}

    def add(self, cls, data, label, image_index, k):
        self.writers[cls].write(pack(label, data, image_index, k))

    def add_framed(self, cls, blob, sizes):
        self.writers[cls].write_framed(blob, sizes)

    @staticmethod
    def prepare(records, image_index):
        """Worker-side: per class, the framed records of one image (cheap to write in order)."""
        by_cls = {}
        for cls, data, label in records:
            by_cls.setdefault(cls, []).append(pack(label, data, image_index, len(by_cls.get(cls, []))))
        return {cls: frame_many(p) for cls, p in by_cls.items()}

    def state(self):
        return {c: list(w.flush()) for c, w in self.writers.items()}

    def counts(self):
        return {c: w.count for c, w in self.writers.items()}

    def close(self):
        for w in self.writers.values():
            w.close()


class JpgSink:
    """The original's layout: ``<folder>/<class dir>/<img>_<k>.jpg`` and ``<class>.txt`` lines."""
    format = 'jpg'

    def __init__(self, folder, classes, state=None):
        os.makedirs(folder, exist_ok=True)
        self.folder = folder
        state = state or {}
        self.lists, self.n = {}, {}
        for c in classes:
            os.makedirs(os.path.join(folder, FOLDERS.get(c, c)), exist_ok=True)
            path = os.path.join(folder, c + '.txt')
            size, n = state.get(c, (0, 0))
            fh = open(path, 'r+' if os.path.exists(path) and size else 'w')
            fh.truncate(size)
            fh.seek(size)
            self.lists[c], self.n[c] = fh, n

    def add(self, cls, data, label, image_index, k):
        if data[:4] == b'RAW\x00':  # the jpg layout always stores JPEG files
            from core.common.packed import decode_image
            data = encode(decode_image(data))
        stem = os.path.join(self.folder, FOLDERS.get(cls, cls), '%d_%d' % (image_index, k))
        with open(stem + '.jpg', 'wb') as f:
            f.write(data)
        self.lists[cls].write('%s %s\n' % (stem, format_label(label)))
        self.n[cls] += 1

    def state(self):
        out = {}
        for c, fh in self.lists.items():
            fh.flush()
            out[c] = [fh.tell(), self.n[c]]
        return out

    def counts(self):
        return dict(self.n)

    def close(self):
        for fh in self.lists.values():
            fh.close()


def make_sink(fmt, folder, classes, state=None):
    if fmt == 'packed':
        return PackedSink(folder, classes, state)
    if fmt == 'jpg':
        return JpgSink(folder, classes, state)
    raise SettingError('unknown sample format %r (packed or jpg)' % fmt)
