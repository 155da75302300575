"""The whole cascade in one resumable command (the original's .bat sequence, spec §1.1):

    annotations → P samples → train P → P hard examples → train P with hard → R samples + mining
    with P → train R → O samples + mining with P+R → train O → evaluation → demo image

    python tools/pipeline.py --run runs/wider --wider_root data/WIDER
    python tools/pipeline.py --run runs/demo --demo            # embedded demo set, short recipes
    python tools/pipeline.py --run runs/wider --from r_train    # redo from a stage
    python tools/pipeline.py --run runs/wider --only eval

Every stage is a command of this toolkit run in a subprocess; its settings and its inputs' keys are
hashed and recorded in ``<run>/manifest.json``. A rerun skips finished stages whose key is unchanged
and redoes a stage (and everything after it) whose inputs or settings changed; an interrupted stage
reruns (sample generation resumes inside the stage, training is deterministic). Settings: the
defaults below, overridden by ``--config file.json`` and ``--set key=value``. OHEM is off by default:
trained from scratch on small sets it collapses to the majority class (the original's shipped
models were trained under heads where OHEM had no effect, spec §4.1); ``--set ohem=True`` enables it.
"""
import argparse
import csv
import hashlib
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

DEFAULTS = {
    'pnet': 'Pnet20_v1', 'rnet': 'Rnet_v1', 'onet': 'Onet_v1', 'base_num': 1, 'seed': 0, 'workers': 2,
    'min_face': 20, 'mine_thresh_p': 0.5, 'mine_thresh_r': 0.5, 'eval_thresh': '0.5,0.5,0.7',
    'p_epochs': 16, 'p_lr': 0.01, 'p_lr_epoch': '8,14', 'p_batch': 512,
    'r_epochs': 16, 'r_lr': 0.01, 'r_lr_epoch': '8,14', 'r_batch': 512,
    'o_epochs': 16, 'o_lr': 0.01, 'o_lr_epoch': '8,14', 'o_batch': 512,
    'limit_images': 0, 'ohem': False, 'o_no_flip': False,
    'p_base_num': 0, 'r_base_num': 0, 'o_base_num': 0,  # per-stage sample budgets (0 = base_num)
    'ph_epochs': 0, 'ph_lr': 0.0, 'ph_lr_epoch': '',    # P-with-hard recipe (0/empty = the P recipe)
    'keep_ratio': True,  # lists with mined negatives keep the recipe's class proportions (gen_imglist)
    'hard_thresh_p': 0.5,        # Pnet threshold when mining its own hard negatives (the original's 0.5)
    'p_hard_finetune': True,     # train P-with-hard from the first Pnet (the original started over)
    'dev_fraction': 0.0, 'dev_seed': 0,  # a dev split held out of the training images; eval runs on it
    'train_fraction': 1.0,               # seeded fraction of the remaining images used (learning curves)
}
# Short recipes for the embedded demo set (quickstart, ≤ 10 minutes on 2 cores).
QUICK = {'p_epochs': 6, 'p_lr': 0.05, 'p_lr_epoch': '5', 'p_batch': 128,
         'r_epochs': 4, 'r_lr': 0.05, 'r_lr_epoch': '3', 'r_batch': 128,
         'o_epochs': 6, 'o_lr': 0.05, 'o_lr_epoch': '5', 'o_batch': 128, 'o_no_flip': True, 'keep_ratio': False,
         'mine_thresh_p': 0.2, 'mine_thresh_r': 0.3, 'eval_thresh': '0.2,0.3,0.5'}


def stages(run, cfg, wider_root):
    """[(name, argv, outputs[, (checkpoint prefix, end epoch)])] in order; paths are inside the run
    folder. Training stages name their checkpoints so that an interrupted one resumes."""
    py = sys.executable
    j = lambda *p: os.path.join(run, *p)  # noqa: E731
    s, w, seed = cfg, str(cfg['workers']), str(cfg['seed'])
    anno, samples = j('anno.txt'), j('samples')
    lim = ['--limit', str(s['limit_images'])] if s['limit_images'] else []

    def get(k, what):  # the P-with-hard recipe falls back to P's
        return s.get(k + what) or s['p' + what]

    def train(script, net, lst, prefix, k):
        return [py, script, '--network', s[net], '--image_set', lst, '--prefix', prefix, '--end_epoch',
                str(get(k, '_epochs')), '--lr', str(get(k, '_lr')), '--lr_epoch', get(k, '_lr_epoch'),
                '--batch_size', str(s[k[0] + '_batch']), '--workers', w, '--seed', seed, '--quiet', '--frequent', '1000000'] + \
            ([] if s['ohem'] else ['--no_ohem']) + (['--no_flip'] if k == 'o' and s['o_no_flip'] else [])

    pe, re_, oe = str(s['p_epochs']), str(s['r_epochs']), str(s['o_epochs'])
    he = str(get('ph', '_epochs'))  # the P-with-hard checkpoint used downstream
    bn = {k: str(s[k + '_base_num'] or s['base_num']) for k in 'pro'}
    ratio = ['--keep_ratio'] if s['keep_ratio'] else []
    return [
        ('anno', [py, 'prepare_data/gen_anno_and_train_list.py', '--wider_root', wider_root, '--anno', anno,
                  '--list', j('train.txt'), '--dev_fraction', str(s['dev_fraction']), '--dev_seed', str(s['dev_seed']),
                  '--dev_anno', j('anno_dev.txt'), '--train_fraction', str(s['train_fraction'])], [anno]),
        ('p_data', [py, 'prepare_data/gen_data.py', '--size', '20', '--anno', anno, '--out', samples,
                    '--base_num', bn['p'], '--workers', w, '--seed', seed] + lim, [j('samples', '20', 'manifest.json')]),
        ('p_list', [py, 'prepare_data/gen_imglist.py', '--size', '20', '--samples', samples, '--out', j('lists', 'p.txt'),
                    '--base_num', bn['p'], '--seed', seed], [j('lists', 'p.txt')]),
        ('p_train', train('train_P20.py', 'pnet', j('lists', 'p.txt'), j('model', 'pnet20'), 'p'),
         [j('model', 'pnet20-%04d.params' % int(pe))], (j('model', 'pnet20'), int(pe))),
        ('p_hard', [py, 'prepare_data/gen_hard_example.py', '--test_mode', 'hardpnet20', '--prefix', j('model', 'pnet20'),
                    '--epoch', pe, '--thresh', str(s['hard_thresh_p']), '--anno', anno, '--out', samples,
                    '--workers', w, '--backend', 'onnx'] + lim, [j('samples', '20', 'manifest_hard.json')]),
        ('p_list_hard', [py, 'prepare_data/gen_imglist.py', '--size', '20', '--with_hard', '--samples', samples,
                         '--out', j('lists', 'p_hard.txt'), '--base_num', bn['p'], '--seed', seed] + ratio,
         [j('lists', 'p_hard.txt')]),
        ('p_train_hard', train('train_P20.py', 'pnet', j('lists', 'p_hard.txt'), j('model', 'pnet20_hard'), 'ph') +
         (['--pretrained', j('model', 'pnet20'), '--epoch', pe] if s['p_hard_finetune'] else []),
         [j('model', 'pnet20_hard-%04d.params' % int(he))], (j('model', 'pnet20_hard'), int(he))),
        ('r_data', [py, 'prepare_data/gen_data.py', '--size', '24', '--anno', anno, '--out', samples,
                    '--base_num', bn['r'], '--workers', w, '--seed', seed] + lim, [j('samples', '24', 'manifest.json')]),
        ('r_hard', [py, 'prepare_data/gen_hard_example.py', '--test_mode', 'rnet', '--prefix', j('model', 'pnet20_hard'),
                    '--epoch', he, '--thresh', str(s['mine_thresh_p']), '--anno', anno, '--out', samples,
                    '--workers', w, '--backend', 'onnx'] + lim, [j('samples', '24', 'manifest_hard.json')]),
        ('r_list', [py, 'prepare_data/gen_imglist.py', '--size', '24', '--with_hard', '--samples', samples,
                    '--out', j('lists', 'r.txt'), '--base_num', bn['r'], '--seed', seed] + ratio, [j('lists', 'r.txt')]),
        ('r_train', train('train_R.py', 'rnet', j('lists', 'r.txt'), j('model', 'rnet'), 'r'),
         [j('model', 'rnet-%04d.params' % int(re_))], (j('model', 'rnet'), int(re_))),
        ('o_data', [py, 'prepare_data/gen_data.py', '--size', '48', '--anno', anno, '--out', samples,
                    '--base_num', bn['o'], '--workers', w, '--seed', seed] + lim, [j('samples', '48', 'manifest.json')]),
        ('o_hard', [py, 'prepare_data/gen_hard_example.py', '--test_mode', 'onet', '--prefix',
                    j('model', 'pnet20_hard') + ',' + j('model', 'rnet'), '--epoch', he + ',' + re_, '--thresh',
                    '%s,%s' % (s['mine_thresh_p'], s['mine_thresh_r']), '--anno', anno, '--out', samples,
                    '--workers', w, '--backend', 'onnx'] + lim, [j('samples', '48', 'manifest_hard.json')]),
        ('o_list', [py, 'prepare_data/gen_imglist.py', '--size', '48', '--with_hard', '--samples', samples,
                    '--out', j('lists', 'o.txt'), '--base_num', bn['o'], '--seed', seed] + ratio, [j('lists', 'o.txt')]),
        ('o_train', train('train_O.py', 'onet', j('lists', 'o.txt'), j('model', 'onet'), 'o'),
         [j('model', 'onet-%04d.params' % int(oe))], (j('model', 'onet'), int(oe))),
        ('eval', [py, 'tools/eval_wider.py', '--prefix', ','.join(j('model', p) for p in ('pnet20_hard', 'rnet', 'onet')),
                  '--epoch', ','.join((he, re_, oe)), '--thresh', s['eval_thresh'], '--min_face', str(s['min_face']),
                  '--out', j('eval'), '--backend', 'onnx'] +
         (['--gt_anno', j('anno_dev.txt')] if s['dev_fraction'] else
          ['--gt_dir', os.path.join(wider_root, 'eval_tools', 'ground_truth'),
           '--image_root', os.path.join(wider_root, 'WIDER_val', 'images')]),
         [j('eval', 'pr_curve.png')]),
    ]


def _key(name, argv, previous):
    return hashlib.sha1(json.dumps([name, argv[1:], previous]).encode()).hexdigest()[:16]


def _resume_epoch(ckpt, entry, key):
    """Last epoch an interrupted run of this very stage (same key) saved with optimizer state."""
    prefix, end = ckpt
    if entry.get('key') != key or entry.get('status') == 'done':
        return 0
    done = [e for e in range(1, end) if os.path.exists('%s-%04d.params' % (prefix, e))
            and os.path.exists('%s-%04d.states' % (prefix, e))]
    return max(done) if done else 0


def _save(path, data):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


def run_pipeline(run, wider_root, cfg, start=None, only=None, log=print):
    os.makedirs(os.path.join(run, 'logs'), exist_ok=True)
    man_path = os.path.join(run, 'manifest.json')
    manifest = json.load(open(man_path)) if os.path.exists(man_path) else {'stages': {}}
    manifest['config'] = cfg
    todo = stages(run, cfg, os.path.abspath(wider_root))
    names = [t[0] for t in todo]
    for flag in (start, only):
        if flag and flag not in names:
            raise SystemExit('error: unknown stage %r (%s)' % (flag, ', '.join(names)))
    previous, forced = '', False
    for name, argv, outputs, *ckpt in todo:
        key = _key(name, argv, previous)
        previous = key
        if start == name:
            forced = True
        entry = manifest['stages'].get(name, {})
        done = entry.get('key') == key and entry.get('status') == 'done' and all(os.path.exists(o) for o in outputs)
        if only and name != only:
            continue
        if done and not forced and not only:
            log('[pipeline] %-13s up to date (%.0f s)' % (name, entry.get('seconds', 0)))
            continue
        resume = _resume_epoch(ckpt[0], entry, key) if ckpt and not forced else 0
        log('[pipeline] %-13s %s: %s' % (name, 'resuming at epoch %d' % resume if resume else 'running',
                                         ' '.join(os.path.relpath(a, REPO) if os.path.isabs(a) else a
                                                  for a in argv[1:4]) + ' ...'))
        if resume:
            argv = argv + ['--resume', '--begin_epoch', str(resume)]
        manifest['stages'][name] = dict(key=key, status='running')
        _save(man_path, manifest)
        t0 = time.time()
        with open(os.path.join(run, 'logs', name + '.log'), 'w') as lf:
            proc = subprocess.run(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=lf, text=True)
            lf.write(proc.stdout)
        if proc.returncode != 0:
            manifest['stages'][name] = dict(key=key, status='failed', seconds=time.time() - t0)
            _save(man_path, manifest)
            raise SystemExit('error: stage %s failed (exit %d); see %s' % (name, proc.returncode,
                                                                            os.path.join(run, 'logs', name + '.log')))
        tail = [ln for ln in proc.stdout.strip().splitlines() if ln.strip()][-1:] or ['']
        manifest['stages'][name] = dict(key=key, status='done', seconds=time.time() - t0, outputs=outputs,
                                        summary=tail[0])
        _save(man_path, manifest)
        log('[pipeline] %-13s done in %.0f s: %s' % (name, time.time() - t0, tail[0][:110]))
    return manifest


def summary(run, manifest, log=print):
    log('\n== summary: %s' % run)
    total = 0.0
    for name, e in manifest['stages'].items():
        total += e.get('seconds', 0)
        log('%-13s %6.0f s  %s' % (name, e.get('seconds', 0), e.get('summary', '')[:100]))
    for net in ('pnet20_hard', 'rnet', 'onet'):
        path = os.path.join(run, 'model', net + '-metrics.csv')
        if os.path.exists(path):
            rows = [r for r in csv.DictReader(open(path)) if r['phase'] == 'val']
            if rows:
                log('%-13s last validation: %s' % (net, ' '.join('%s=%s' % (k, rows[-1][k][:6]) for k in rows[-1]
                                                                 if k not in ('phase', 'epoch') and rows[-1][k])))
    log('models: %s; PR curve: %s; total %.0f s' % (os.path.join(run, 'model'), os.path.join(run, 'eval', 'pr_curve.png'), total))
    ev = manifest['stages'].get('eval', {}).get('summary', '')
    if ev.startswith('easy='):
        log(ev)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--run', default=os.path.join('runs', 'pipeline'), help='run folder (manifest, logs, models)')
    ap.add_argument('--wider_root', default=None, help='WIDER FACE root (WIDER_train, WIDER_val, wider_face_split, eval_tools)')
    ap.add_argument('--demo', action='store_true', help='build and use the embedded demo set with short recipes')
    ap.add_argument('--config', default=None, help='JSON file of setting overrides')
    ap.add_argument('--set', action='append', default=[], help='key=value override (repeatable)')
    ap.add_argument('--from', dest='start', default=None, help='redo this stage and everything after it')
    ap.add_argument('--only', default=None, help='run only this stage')
    args = ap.parse_args(argv)
    cfg = dict(DEFAULTS)
    if args.demo:
        cfg.update(QUICK)
    if args.config:
        extra = {k: v for k, v in json.load(open(args.config)).items() if not k.startswith('_')}  # _about etc.
        unknown = sorted(set(extra) - set(cfg))
        if unknown:
            ap.error('%s: unknown settings %s' % (args.config, ', '.join(unknown)))
        cfg.update(extra)
    for kv in args.set:
        k, _, v = kv.partition('=')
        if k not in cfg:
            ap.error('unknown setting %r' % k)
        if isinstance(cfg[k], bool):
            cfg[k] = v.lower() in ('1', 'true', 'yes')
        else:
            cfg[k] = type(cfg[k])(v) if not isinstance(cfg[k], str) else v
    run = os.path.abspath(args.run)
    wider_root = args.wider_root
    if args.demo and not wider_root:
        wider_root = os.path.join(run, 'demo_data')
        if not os.path.exists(os.path.join(wider_root, 'wider_face_split', 'wider_face_train.mat')):
            from prepare_data.demo_set import make_demo_set
            rep = make_demo_set(wider_root, seed=cfg['seed'])
            print('[pipeline] demo set: %s' % ', '.join('%s %d images / %d faces' % (k, *v) for k, v in rep.items()))
    if not wider_root:
        ap.error('give --wider_root DIR or --demo')
    manifest = run_pipeline(run, wider_root, cfg, args.start, args.only)
    summary(run, manifest)
    return 0


if __name__ == '__main__':
    sys.exit(main())
