"""How each data stage grows with the data: the training subset listed 1×, 3× and 10×, every stage run
as the pipeline runs it, wall time, peak memory (every process of the stage, workers included), disk
and file count recorded.

    python tools/bench_scale.py --wider_root ../shared/data/widerface --scales 1,3,10     # long
    python tools/bench_scale.py --wider_root ../shared/data/widerface --scales 1,2 --stages anno,p_data,p_list

A k× set lists each training image k times under distinct names (``c<j>_<event>/`` folders that are
symbolic links to the real event folders, as a user's bigger folder would look, without copies of the
JPEGs); the landmark list likewise. Stages (``--stages``, in this order): annotations (``anno``), P/R/O
sample generation (``p_data``, ``r_data``, ``o_data``), lists (``p_list``, ``r_list``, ``o_list``), P→R and
P+R→O mining with the default models (``r_hard``, ``o_hard``), landmark crops (``landmarks``), and one
epoch of Pnet training reading the packed set (``p_train``). Memory is sampled from /proc every 0.2 s
(Linux: the sum over the stage's process tree, and its largest process; elsewhere the largest process
from getrusage). Results go to ``<out>/scale.json`` after every stage (a rerun resumes where it
stopped; ``--fresh`` starts over), the table to ``<out>/scale.md`` and the plot to ``<out>/scale.png``;
the last line is ``max_rss_growth=<float>`` (the largest 10×/1× ratio of a stage's peak memory, or of
the largest against the smallest scale given).
"""
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import cli  # noqa: E402
from config import config  # noqa: E402
from core.common.fileio import FormatError  # noqa: E402
from core.common.errors import InputError  # noqa: E402

STAGES = ('anno', 'p_data', 'p_list', 'r_data', 'r_hard', 'r_list', 'o_data', 'o_hard', 'o_list', 'landmarks',
          'p_train')
PAGE = os.sysconf('SC_PAGE_SIZE') if hasattr(os, 'sysconf') else 4096


# --- the k× data set ---------------------------------------------------------------------------------

def read_gt_blocks(path, image_root):
    """(name, lines) per image of a WIDER ``*_bbx_gt.txt`` whose image exists under ``image_root``."""
    with open(path) as f:
        lines = [ln.rstrip('\n') for ln in f]
    blocks, i = [], 0
    while i < len(lines):
        name = lines[i].strip()
        if not name:
            i += 1
            continue
        try:
            n = int(lines[i + 1])
        except (IndexError, ValueError):
            raise FormatError('%s:%d: expected a face count after %s' % (path, i + 2, name)) from None
        body = lines[i + 1:i + 2 + max(n, 1)]
        if os.path.isfile(os.path.join(image_root, name)):
            blocks.append((name, body))
        i += 2 + max(n, 1)
    return blocks


def _link(target, link):
    if not os.path.lexists(link):
        os.symlink(os.path.abspath(target), link)


def scaled_wider(wider_root, dst, k):
    """A WIDER root under ``dst`` listing every present training image ``k`` times (``c<j>_<event>``
    links to the event folders and a ``wider_face_train_bbx_gt.txt`` naming them) -> its path."""
    src_images = os.path.join(wider_root, 'WIDER_train', 'images')
    gt = os.path.join(wider_root, 'wider_face_split', 'wider_face_train_bbx_gt.txt')
    blocks = read_gt_blocks(gt, src_images)
    root = os.path.join(dst, 'wider')
    images = os.path.join(root, 'WIDER_train', 'images')
    os.makedirs(images, exist_ok=True)
    os.makedirs(os.path.join(root, 'wider_face_split'), exist_ok=True)
    events = sorted({name.split('/')[0] for name, _ in blocks})
    out = []
    for j in range(k):
        for e in events:
            _link(os.path.join(src_images, e), os.path.join(images, 'c%d_%s' % (j, e)))
        for name, body in blocks:
            out.append('c%d_%s' % (j, name))
            out.extend(body)
    from core.common.fileio import write_lines
    write_lines(os.path.join(root, 'wider_face_split', 'wider_face_train_bbx_gt.txt'), out)
    return root, len(blocks) * k


def scaled_landmarks(list_path, dst, k):
    """The landmark list ``k`` times, each copy under a ``c<j>`` link to the list's folder -> (list, root)."""
    root = os.path.join(dst, 'landmarks')
    os.makedirs(root, exist_ok=True)
    with open(list_path) as f:
        lines = [ln.strip() for ln in f if ln.strip()]
    out = []
    for j in range(k):
        _link(os.path.dirname(os.path.abspath(list_path)), os.path.join(root, 'c%d' % j))
        out.extend('c%d/%s' % (j, ln) for ln in lines)
    from core.common.fileio import write_lines
    path = os.path.join(root, 'list.txt')
    write_lines(path, out)
    return path, root


# --- measuring a stage ---------------------------------------------------------------------------------

def _children_map():
    kids = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    return kids


def _status_kb(pid, keys=('VmRSS', 'RssAnon', 'RssShmem')):
    out = dict.fromkeys(keys, 0)
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            key = line.split(':', 1)[0]
            if key in out:
                out[key] = int(line.split()[1])
    return out


def tree_rss(pid):
    """Resident bytes of ``pid`` and all its descendants (Linux /proc): (sum, largest process, ``pid``
    itself, sum of anonymous + shared-memory pages). The last leaves out file pages mapped from the
    packed samples: the kernel can drop those at any time, so they are not memory a stage needs."""
    kids = _children_map()
    todo, total, largest, own, anon = [pid], 0, 0, 0, 0
    while todo:
        p = todo.pop()
        todo.extend(kids.get(p, []))
        try:
            st = _status_kb(p)
        except (OSError, IndexError, ValueError):
            continue
        rss = st['VmRSS'] * 1024
        total += rss
        largest = max(largest, rss)
        own = rss if p == pid else own
        anon += (st['RssAnon'] + st['RssShmem']) * 1024
    return total, largest, own, anon


def disk_usage(path):
    """(bytes, files) of the regular files under ``path`` (links not followed)."""
    size = files = 0
    for base, dirs, names in os.walk(path):
        for n in names:
            st = os.lstat(os.path.join(base, n))
            if not os.path.islink(os.path.join(base, n)):
                size += st.st_size
                files += 1
    return size, files


def run_measured(argv, log_path, interval=0.2, max_seconds=0):
    """Run a stage command; -> dict(seconds, peak_rss_mb (sum over its processes), largest_rss_mb,
    main_rss_mb (the command's own process, without its workers), anon_mb (the sum without file pages:
    what the stage needs), returncode, stopped). ``max_seconds`` > 0: interrupt the command (SIGINT, as
    Ctrl-C) after that long and count it as done (``stopped``: True), for a memory-only measurement. Its output goes to ``log_path``; Ctrl-C stops its whole process group."""
    from core.common.lifecycle import preexec_die_with_parent
    linux = os.path.isdir('/proc/self')
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    peak = {'total': 0, 'largest': 0, 'main': 0, 'anon': 0}
    with open(log_path, 'w') as log:
        t0 = time.time()
        proc = subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=preexec_die_with_parent if os.name == 'posix' else None)
        done = threading.Event()

        def sample():
            while not done.is_set():
                for key, v in zip(('total', 'largest', 'main', 'anon'), tree_rss(proc.pid)):
                    peak[key] = max(peak[key], v)
                done.wait(interval)
        watcher = threading.Thread(target=sample, daemon=True)
        if linux:
            watcher.start()
        stopped = False
        try:
            try:
                rc = proc.wait(timeout=max_seconds or None)
            except subprocess.TimeoutExpired:
                stopped = True
                os.killpg(proc.pid, signal.SIGINT)
                rc = proc.wait()
                rc = 0 if rc in (0, 130, -signal.SIGINT) else rc  # what Ctrl-C ends a command with
        except KeyboardInterrupt:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
            raise
        finally:
            done.set()
        seconds = time.time() - t0
    if not linux:  # the largest child (kilobytes on Linux, bytes on macOS)
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        unit = 1 if sys.platform == 'darwin' else 1024
        peak['largest'] = peak['total'] = peak['main'] = peak['anon'] = max(rss, before) * unit
    return dict(seconds=round(seconds, 2), peak_rss_mb=round(peak['total'] / 2 ** 20, 1),
                largest_rss_mb=round(peak['largest'] / 2 ** 20, 1), main_rss_mb=round(peak['main'] / 2 ** 20, 1),
                anon_mb=round(peak['anon'] / 2 ** 20, 1), returncode=rc, stopped=stopped)


# --- the stages ----------------------------------------------------------------------------------------

def stage_commands(d, wider, landmark_list, landmark_root, workers):
    """{stage: argv} for one scale's folder ``d``: the default recipe's data settings and the default
    models' mining, as the pipeline runs them (no dev split; one epoch of Pnet training)."""
    from core.detect.cascade import default_card
    from core.recipes.fields import flag_text
    from core.recipes.pipeline_recipe import DEFAULT_RECIPE, load_recipe
    card, r = default_card(), load_recipe(DEFAULT_RECIPE)
    py = sys.executable
    anno, samples, lists = os.path.join(d, 'anno.txt'), os.path.join(d, 'samples'), os.path.join(d, 'lists')
    w, seed = ['--workers', str(workers)], ['--seed', str(r.seed)]
    gen = lambda size, base: [py, 'prepare_data/gen_data.py', '--size', str(size), '--base_num', str(base),  # noqa: E731
                              '--min_face', str(r.data.min_face), '--anno', anno, '--out', samples] + seed + w
    lst = lambda size, base, name, hard: ([py, 'prepare_data/gen_imglist.py', '--size', str(size),  # noqa: E731
                                           '--base_num', str(base), '--samples', samples, '--out',
                                           os.path.join(lists, name)] + seed
                                          + (['--with_hard'] + (['--keep_ratio'] if r.data.keep_ratio else [])
                                             if hard else []))
    mine = lambda mode, n, thresh: [py, 'prepare_data/gen_hard_example.py', '--test_mode', mode,  # noqa: E731
                                    '--prefix', ','.join(card.prefix[:n]), '--epoch', ','.join(map(str, card.epoch[:n])),
                                    '--thresh', flag_text(thresh), '--min_face', flag_text(r.detector.min_face),
                                    '--anno', anno, '--out', samples, '--backend', 'onnx'] + w
    p = r.p.train
    cmds = {
        'anno': [py, 'prepare_data/gen_anno_and_train_list.py', '--wider_root', wider, '--source', 'txt',
                 '--anno', anno, '--list', os.path.join(d, 'train.txt')],
        'p_data': gen(20, r.p.base_num), 'p_list': lst(20, r.p.base_num, 'p.txt', False),
        'r_data': gen(24, r.r.base_num), 'r_hard': mine('rnet', 1, r.r.mine_thresh),
        'r_list': lst(24, r.r.base_num, 'r.txt', True),
        'o_data': gen(48, r.o.base_num), 'o_hard': mine('onet', 2, r.o.mine_thresh),
        'o_list': lst(48, r.o.base_num, 'o.txt', True),
        'p_train': [py, 'train_P20.py', '--network', p.network, '--image_set', os.path.join(lists, 'p.txt'),
                    '--prefix', os.path.join(d, 'model', 'pnet20'), '--lr', flag_text(p.phases[0].lr),
                    '--end_epoch', '1', '--batch_size', str(p.phases[0].batch_size), '--frequent', '100000',
                    '--seed', str(r.seed), '--quiet'] + (['--no_ohem'] if not p.ohem else []) + w,
    }
    if landmark_list:
        cmds['landmarks'] = [py, 'prepare_data/gen_landmark.py', '--list', landmark_list, '--format', 'cuhk',
                             '--image_root', landmark_root, '--size', '48', '--out', samples] + seed + w
    return cmds


def _mem(m):
    """A stage's peak memory: without mapped file pages where measured (see :func:`tree_rss`)."""
    return m.get('anon_mb', m['peak_rss_mb'])


def table(results, scales, stages):
    """Markdown rows: per stage, time / peak memory (without file pages) / disk / files at every scale
    and the memory growth from the first to the last scale."""
    head = '| stage | ' + ' | '.join('%d× s' % k for k in scales) + ' | ' + \
        ' | '.join('%d× peak MB' % k for k in scales) + ' | peak growth | ' + \
        ' | '.join('%d× disk MB / files' % k for k in scales) + ' |'
    rows = [head, '|' + '---|' * (2 + 3 * len(scales))]
    growth = {}
    for st in stages:
        got = [results.get('%d' % k, {}).get(st) for k in scales]
        if not any(got):
            continue
        cell = lambda g, f: f(g) if g else '–'  # noqa: E731
        mems = [_mem(g) for g in got if g]
        growth[st] = mems[-1] / mems[0] if len(mems) > 1 and mems[0] else None
        rows.append('| %s | %s | %s | %s | %s |' % (
            st, ' | '.join(cell(g, lambda g: ('%.0f' if not g.get('stopped') else '(stopped at %.0f)') % g['seconds'])
                           for g in got),
            ' | '.join(cell(g, lambda g: '%.0f' % _mem(g)) for g in got),
            '%.2f×' % growth[st] if growth[st] else '–',
            ' | '.join(cell(g, lambda g: '%.0f / %d' % (g['disk_mb'], g['files'])) for g in got)))
    return rows, growth


def _args(argv):
    ap = cli.parser(__doc__)
    ap.add_argument('--wider_root', default=os.path.join(config.shared, 'data', 'widerface'))
    ap.add_argument('--landmarks', default=os.path.join(config.shared, 'data', 'landmarks5', 'new_training.txt'),
                    help="CUHK 5-point list for the landmarks stage ('' = skip it)")
    ap.add_argument('--scales', default='1,3,10')
    ap.add_argument('--stages', default=','.join(STAGES), help='a subset of the stages, in their order')
    ap.add_argument('--out', default=os.path.join('runs', 'scale'))
    ap.add_argument('--workers', type=cli.positive_int('--workers'), default=2)
    ap.add_argument('--train_seconds', type=float, default=0,
                    help='stop p_train after this long (0 = its whole epoch): memory set-up measured, time not')
    ap.add_argument('--keep', action='store_true', help='keep each scale\'s data (default: removed once measured)')
    ap.add_argument('--fresh', action='store_true', help='forget earlier results in --out')
    args = ap.parse_args(argv)
    args.scales = cli.csv_list(args.scales, int, '--scales')
    stages = cli.csv_list(args.stages, str, '--stages')
    bad = [s for s in stages if s not in STAGES]
    if bad:
        raise cli.SettingError('--stages: unknown stage(s) %s (%s)' % (', '.join(bad), ', '.join(STAGES)))
    args.stages = [s for s in STAGES if s in stages]
    if not os.path.isfile(os.path.join(args.wider_root, 'wider_face_split', 'wider_face_train_bbx_gt.txt')):
        raise FileNotFoundError('%s: no wider_face_split/wider_face_train_bbx_gt.txt' % args.wider_root)
    if args.landmarks and not os.path.isfile(args.landmarks):
        print('landmark list %s not found: the landmarks stage is skipped' % args.landmarks)
        args.landmarks = ''
    return args


def measure_scale(k, args, results, res_path, logs):
    """Run the stages not yet measured at scale ``k``, recording each in ``results`` as it ends."""
    from core.common.fileio import save_json
    d = os.path.abspath(os.path.join(args.out, 'x%d' % k))
    if args.fresh and os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d, exist_ok=True)
    wider, n_images = scaled_wider(args.wider_root, d, k)
    lm_list, lm_root = scaled_landmarks(args.landmarks, d, k) if args.landmarks else ('', '')
    cmds = stage_commands(d, wider, lm_list, lm_root, args.workers)
    done = results.setdefault('%d' % k, {})
    for st in [st for st in args.stages if st in cmds and st not in done]:
        size0, files0 = disk_usage(d)
        print('[%d×, %d images] %s ...' % (k, n_images, st), flush=True)
        log = os.path.join(logs, 'x%d_%s.log' % (k, st))
        m = run_measured(cmds[st], log, max_seconds=args.train_seconds if st == 'p_train' else 0)
        if m['returncode'] != 0:
            raise InputError('%d× %s failed (exit %d); log %s:\n%s' % (k, st, m['returncode'], log,
                                                                        open(log).read()[-1500:]))
        size1, files1 = disk_usage(d)
        m.update(disk_mb=round((size1 - size0) / 2 ** 20, 1), files=files1 - files0, images=n_images)
        done[st] = m
        save_json(res_path, results)
        print('  %.1f s, peak %.0f MB (without file pages %.0f MB; largest process %.0f MB, main %.0f MB), '
              '%+.1f MB on disk, %+d files' % (m['seconds'], m['peak_rss_mb'], m['anon_mb'], m['largest_rss_mb'],
                                                m['main_rss_mb'], m['disk_mb'], m['files']), flush=True)
    if not args.keep:
        shutil.rmtree(d)


def main(argv=None):
    args = _args(argv)
    from core.common.fileio import write_lines
    from core.common.plot import scale_plot
    logs = os.path.join(args.out, 'logs')
    os.makedirs(logs, exist_ok=True)
    res_path = os.path.join(args.out, 'scale.json')
    results = {} if args.fresh or not os.path.isfile(res_path) else json.load(open(res_path))
    for k in args.scales:
        measure_scale(k, args, results, res_path, logs)
    rows, growth = table(results, args.scales, args.stages)
    write_lines(os.path.join(args.out, 'scale.md'), rows)
    flat = [dict(stage=st, scale=int(k), mem_mb=_mem(v), **v) for k, per in results.items() if int(k) in args.scales
            for st, v in per.items() if st in args.stages]
    scale_plot(flat, os.path.join(args.out, 'scale.png'), title='data stages against data size (%s)' % args.wider_root)
    print('\n'.join(rows))
    known = [g for g in growth.values() if g]
    print('max_rss_growth=%.2f' % (max(known) if known else 0.0))
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
