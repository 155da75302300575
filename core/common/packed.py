"""Packed samples: MXNet RecordIO files (``.rec`` + ``.idx``) written in append mode.

Each record is MXNet's ``IRHeader`` (label vector, ids) followed by the crop — JPEG, or for small
crops (≤ 24 px by default) raw BGR pixels, which are as small and need no decoding — framed
exactly as ``mx.recordio.MXIndexedRecordIO`` does (magic, length, 4-byte padding), so MXNet's own
readers (``ImageRecordIter``, ``MXIndexedRecordIO``) read these files too. Appending and
truncating to a known size is what makes sample generation resumable.
"""
import mmap
import os
import struct

import numpy as np
from .fileio import FormatError

MAGIC = 0xced7230a
_HEADER = struct.Struct('IfQQ')  # flag, label, id, id2 (mx.recordio.IRHeader)


RAW_MAGIC = b'RAW\x00'


def encode_raw(img):
    """Raw square BGR pixels behind a 4-byte marker (never the start of a JPEG)."""
    return RAW_MAGIC + np.ascontiguousarray(img, np.uint8).tobytes()


def decode_image(buf):
    """A stored crop (JPEG or :func:`encode_raw`) as a BGR uint8 image; None if undecodable."""
    import cv2
    if buf[:4] == RAW_MAGIC:
        n = len(buf) - 4
        side = int(round((n / 3) ** 0.5))
        if side * side * 3 != n:
            return None
        return np.frombuffer(buf, np.uint8, offset=4).reshape(side, side, 3)
    return cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_COLOR)


def pack(label, image_bytes, id1=0, id2=0):
    """One record payload: IRHeader with a float32 label vector, then the encoded image."""
    label = np.asarray(label, dtype=np.float32).ravel()
    head = _HEADER.pack(len(label), 0.0, int(id1), int(id2))
    return head + label.tobytes() + bytes(image_bytes)


def unpack(payload):
    """(label float32 vector, id1, id2, image bytes) of a record payload."""
    flag, label0, id1, id2 = _HEADER.unpack_from(payload)
    off = _HEADER.size
    if flag > 0:
        label = np.frombuffer(payload, dtype=np.float32, count=flag, offset=off).copy()
        off += 4 * flag
    else:
        label = np.array([label0], np.float32)
    return label, id1, id2, payload[off:]


def frame(payload):
    """A record as stored in the .rec file: magic, length, payload, padding to 4 bytes."""
    n = len(payload)
    return struct.pack('II', MAGIC, n) + payload + b'\x00' * ((4 - n % 4) % 4)


def frame_many(payloads):
    """(concatenated framed records, list of their framed sizes)."""
    framed = [frame(p) for p in payloads]
    return b''.join(framed), [len(f) for f in framed]


class RecordWriter:
    """Append records to ``path.rec`` and their offsets to ``path.idx``.

    ``truncate_to=(rec bytes, records)`` resumes an interrupted run: both files are cut back in place
    to that state (never rewritten), so a resume that is itself interrupted at any moment can be
    resumed again."""

    def __init__(self, path, truncate_to=None):
        self.rec_path, self.idx_path = path + '.rec', path + '.idx'
        rec_size, n = truncate_to or (0, 0)
        if n and not os.path.exists(self.idx_path):
            raise IOError('%s: missing; cannot resume after %d records' % (self.idx_path, n))
        self.rec = open(self.rec_path, 'r+b' if os.path.exists(self.rec_path) and rec_size else 'wb')
        self.rec.truncate(rec_size)
        self.rec.seek(rec_size)
        self.idx = open(self.idx_path, 'r+b' if n else 'wb')
        if n:
            end, lines = 0, 0
            for line in self.idx:
                if lines == n:
                    break
                end += len(line)
                lines += 1
            if lines != n:
                raise IOError('%s: expected %d index lines to resume, found %d' % (self.idx_path, n, lines))
            self.idx.seek(end)
            self.idx.truncate(end)
        self.count = n

    def write(self, payload):
        self.write_framed(*frame_many([payload]))

    def write_framed(self, blob, sizes):
        """Append already framed records (see :func:`frame_many`) in one write."""
        offset = self.rec.tell()
        self.rec.write(blob)
        lines = []
        for n in sizes:
            lines.append('%d\t%d\n' % (self.count, offset))
            offset += n
            self.count += 1
        self.idx.write(''.join(lines).encode())

    def flush(self):
        self.rec.flush()
        self.idx.flush()
        os.fsync(self.rec.fileno())
        os.fsync(self.idx.fileno())
        return self.rec.tell(), self.count

    def close(self):
        self.flush()
        self.rec.close()
        self.idx.close()


class RecordReader:
    """Random access to a packed file by record index (opens lazily, safe after fork)."""

    def __init__(self, path):
        self.path = path[:-4] if path.endswith('.rec') else path
        from array import array
        offsets = array('q')  # 8 bytes a record (a list of ints took 36, in every process reading the file)
        with open(self.path + '.idx') as f:
            for k, line in enumerate(f, 1):
                parts = line.split()
                if len(parts) != 2:
                    raise FormatError('%s.idx:%d: expected "index<TAB>offset"' % (self.path, k))
                offsets.append(int(parts[1]))
        self.offsets = np.frombuffer(offsets, np.int64) if len(offsets) else np.zeros(0, np.int64)
        self._fh = self._mm = None
        self._pid = None

    def __len__(self):
        return len(self.offsets)

    def read(self, i):
        if self._fh is None or self._pid != os.getpid():
            self._fh = open(self.path + '.rec', 'rb')
            self._pid = os.getpid()
            size = os.fstat(self._fh.fileno()).st_size
            # memory-mapped: a record is two slices instead of a seek and two read calls
            self._mm = mmap.mmap(self._fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b''
        off = int(self.offsets[i])
        if off + 8 > len(self._mm):
            raise FormatError('%s.rec: record %d lies beyond the end of the file' % (self.path, i))
        magic, n = struct.unpack_from('II', self._mm, off)
        if magic != MAGIC:
            raise FormatError('%s.rec: bad record magic at index %d' % (self.path, i))
        return unpack(self._mm[off + 8:off + 8 + (n & ((1 << 29) - 1))])

    def __getstate__(self):
        state = dict(self.__dict__)
        state['_fh'] = state['_mm'] = None
        return state
