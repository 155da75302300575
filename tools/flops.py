"""Print the README FLOP table: name, input, MFLOPs (2**20 units, README rule), params.

    python tools/flops.py                   # human-readable table with the README's figures
    python tools/flops.py --format tsv      # name<TAB>WxH<TAB>mflops<TAB>params
    python tools/flops.py --input 1920x1080 # every row at another input size
    python tools/flops.py --network Onet_v1 --with_landmark
    python tools/flops.py --prefix model/onet_merged --epoch 16   # a checkpoint's own graph
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402

from symbols import list_networks, network_info  # noqa: E402
from symbols.op_count import model_stats  # noqa: E402

# (README row name, network, basenum, README figure in M)
README_ROWS = [
    ('Pnet20_v00', 'Pnet20_v00', None, 10.3), ('Pnet20_v0', 'Pnet20_v0', None, 14.1),
    ('Pnet20_v1', 'Pnet20_v1', None, 18.3), ('Pnet20_v2', 'Pnet20_v2', None, 22.9),
    ('Pnet20_v3', 'Pnet20_v3', None, 32.4), ('Pnet20_v4', 'Pnet20_v4', None, 55.8),
    ('Pnet20_v5', 'Pnet20_v5', None, 83.9), ('Pnet20_v6', 'Pnet20_v6', None, 92.4),
    ('Pnet20_v7', 'Pnet20_v7', None, 102.1), ('Pnet20_v8', 'Pnet20_v8', None, 125.2),
    ('Pnet20_s2v1', 'Pnet20_s2v1', None, 63.2), ('Pnet20_s2v2', 'Pnet20_s2v2', None, 107.5),
    ('Pnet20_s2v3', 'Pnet20_s2v3', None, 169.2),
    ('Pnet16_v0', 'Pnet16_v0', None, 8.6), ('Pnet16_v1', 'Pnet16_v1', None, 12.5),
    ('Rnet_v1', 'Rnet_v1', None, 0.6), ('Rnet_v2', 'Rnet_v2', None, 1.6),
    ('Onet_v1', 'Onet_v1', None, 2.4), ('Onet_v2', 'Onet_v2', None, 3.6),
    ('Onet_v3', 'Onet_v3', None, 9.3),
    ('Lnet_v1_b16', 'Lnet_v1', 16, 3.8), ('Lnet_v1_b32', 'Lnet_v1', 32, 11.5),
    ('Lnet_v2_b16', 'Lnet_v2', 16, 3.8), ('Lnet_v2_b32', 'Lnet_v2', 32, 11.5),
    ('Lnet_v3_b32', 'Lnet_v3', 32, 7.7),
    ('Lnet106_v1_b32', 'Lnet106_v1', 32, 11.6), ('Lnet106_v1_b64', 'Lnet106_v1', 64, 38.8),
    ('Lnet106_v2_b32', 'Lnet106_v2', 32, 11.6), ('Lnet106_v2_b64', 'Lnet106_v2', 64, 38.8),
    ('Lnet106_v2_b128', 'Lnet106_v2', 128, 140.1),
    ('Lnet106_96_v1_b32', 'Lnet106_96_v1', 32, 42.8), ('Lnet106_96_v1_b64', 'Lnet106_96_v1', 64, 140.2),
    ('Lnet106_96_v2_b16', 'Lnet106_96_v2', 16, 14.6), ('Lnet106_96_v2_b32', 'Lnet106_96_v2', 32, 42.8),
    ('Lnet106_96_v2_b64', 'Lnet106_96_v2', 64, 140.2),
    ('Lnet106_96_v3_b32', 'Lnet106_96_v3', 32, 18.7),
    ('Lnet106_64_v3_b32', 'Lnet106_64_v3', 32, 7.8),
]
# Two README figures are slips in the original: the HEAD definitions give other counts.
README_SLIPS = {'Pnet20_v00': 'README says 10.3; its HEAD definition counts 9.88',
                'Pnet16_v1': 'README says 12.5; its HEAD definition counts 12.24 (old rule 9.8 matches)'}


def rows(size=None, extra=False):
    """Yield (row name, network, basenum, readme M, mflops, params, (W, H))."""
    table = list(README_ROWS)
    if extra:
        listed = {r[1] for r in README_ROWS}
        table += [(n, n, None, None) for n in list_networks() if n not in listed]
    for row_name, net, basenum, readme in table:
        w, h = size if size else (None, None)
        mflops, params, wh = model_stats(net, w, h, basenum=basenum)
        yield row_name, net, basenum, readme, mflops, params, wh


def main(argv=None):
    ap = cli.parser(__doc__)
    ap.add_argument('--format', choices=['table', 'tsv'], default='table')
    ap.add_argument('--input', help='input size WxH for every row (default: each net\'s own; Pnets 320x240)')
    ap.add_argument('--network', help='count one registered network instead of the README table')
    ap.add_argument('--with_landmark', action='store_true', help='with --network Onet_*: 5-point head')
    ap.add_argument('--basenum', type=int, help='with --network Lnet*: width multiplier')
    ap.add_argument('--all', action='store_true', help='also list registered nets not in the README')
    ap.add_argument('--prefix', help="count a checkpoint's stored graph (e.g. after tools/merge_bn.py)")
    ap.add_argument('--epoch', type=int, default=None)
    args = ap.parse_args(argv)
    size = None
    if args.input:
        try:
            w, h = (int(v) for v in args.input.lower().split('x'))
        except ValueError:
            ap.error('--input must look like 320x240, got %r' % args.input)
        size = (w, h)
    if args.prefix:
        from core.runtime.model_io import load_model
        from symbols.op_count import MEGA, count_ops, count_params
        model = load_model(args.prefix, args.epoch or 0)
        info = model.info
        if size:
            w, h = size
        elif info['kind'] == 'pnet':
            w, h = 16 * info['size'], 12 * info['size']
        else:
            w = h = info['size']
        shape = (1, 3, h, w)
        mflops = count_ops(model.sym, shape, cls_only=info['kind'] == 'pnet') / MEGA
        data = [(os.path.basename(args.prefix), model.network, None, None, mflops,
                 count_params(model.sym, shape), (w, h))]
    elif args.network:
        network_info(args.network)
        w, h = size if size else (None, None)
        mflops, params, (w, h) = model_stats(args.network, w, h, args.with_landmark, args.basenum)
        data = [(args.network, args.network, args.basenum, None, mflops, params, (w, h))]
    else:
        data = list(rows(size, args.all))
    if args.format == 'tsv':
        for name, _, _, _, mflops, params, (w, h) in data:
            print('%s\t%dx%d\t%.2f\t%d' % (name, w, h, mflops, params))
        return 0
    print('%-20s %-10s %10s %10s %10s' % ('name', 'input', 'README M', 'M (2^20)', 'params'))
    for name, _, _, readme, mflops, params, (w, h) in data:
        ref = '-' if readme is None or size else '%.1f' % readme
        print('%-20s %-10s %10s %10.2f %10d' % (name, '%dx%d' % (w, h), ref, mflops, params))
    if not args.network and not args.prefix and not size:
        print('\nRule: fma counted once, after merging BN; Pnet rows exclude the bbox-only branch.')
        for name, why in README_SLIPS.items():
            print('note: %s: %s' % (name, why))
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
