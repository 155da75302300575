"""Convert a 106-point list between the JD (jingdong) point order and the "migu" order the trainers
and the flip permutation use (the original's convert_jidong_to_migu step), keeping the list format
``<path> x0 y0 x1 y1 … x105 y105`` (paths may contain spaces).

    python tools/convert_106_order.py --list data/imglists/106data_merge.txt --out data/imglists/106data_merge_migu.txt
    python tools/convert_106_order.py --list migu.txt --out jd.txt --to jd
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402
from core.common.fileio import FormatError, parse_floats, split_path, write_lines  # noqa: E402
from core.landmarks.points import JD_TO_MIGU, MIGU_TO_JD, reorder_106  # noqa: E402


def convert(lines, table, path='list'):
    out = []
    for k, line in enumerate(lines, 1):
        if not line.strip():
            continue
        name, numbers = split_path(line)
        if len(numbers) != 212:
            raise FormatError('%s:%d: a 106-point line needs 212 numbers, got %d' % (path, k, len(numbers)))
        pts = reorder_106(np.array(parse_floats(numbers, path, k)).reshape(106, 2), table)
        out.append(name + ' ' + ' '.join('%.1f' % v for v in pts.ravel()))
    return out


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--list', required=True, help='106-point list to convert')
    ap.add_argument('--out', required=True, help='converted list')
    ap.add_argument('--to', choices=['migu', 'jd'], default='migu', help='target order')
    args = ap.parse_args(argv)
    with open(args.list) as f:
        lines = convert(f.readlines(), JD_TO_MIGU if args.to == 'migu' else MIGU_TO_JD, args.list)
    write_lines(args.out, lines)
    print('%d faces -> %s (%s order)' % (len(lines), args.out, args.to))
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
