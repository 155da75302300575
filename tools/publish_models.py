"""Publish a pipeline run's final cascade as the project's default models.

    python tools/publish_models.py --run runs/wider --out model/default [--thresh 0.7,0.8,0.9]
        [--lnet runs/lnet/model/lnet,50] [--force]
    python tools/publish_models.py --lnet runs/lbox/lnet_box,16   # add a landmark net to the published cascade
    python tools/publish_models.py --readme check                 # the model card's README agrees with models.json

Copies the inference checkpoints (``-symbol.json`` + ``.params``; no optimizer states) of the run's
cascade (the one its manifest names: P with hard negatives, R, O, at the epochs the recipe uses) to
``--out`` as ``pnet20`` / ``rnet`` / ``onet`` (and ``lnet``), evaluates it once on the WIDER val
subset, and writes ``models.json`` (prefixes, epochs, networks, minimum face, the default point's
thresholds, the landmark net, the run's recipe file, the val AP); ``tools/operating_points.py --write``
then chooses the operating points on the dev split. ``demo.py``, ``tools/eval_wider.py`` and the other tools use that
cascade when no ``--prefix`` is given. A cascade whose mean val AP is lower than the published one's
is refused unless ``--force``. Without ``--run``, ``--lnet`` attaches a 5-point net to the cascade
already published in ``--out`` (its checkpoint copied as ``lnet``, ``models.json`` updated).
"""
import decimal
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cli  # noqa: E402
from cli import config  # noqa: E402
from config import REPO_ROOT  # noqa: E402
from core.common.fileio import FormatError, atomic_call, load_json, save_json  # noqa: E402
from core.recipes.cascade_settings import DEFAULTS, CascadeSettings, card_from_json, stage_thresholds  # noqa: E402
from core.recipes.fields import build  # noqa: E402
from core.common.errors import InputError  # noqa: E402


def _copy(src_prefix, epoch, dst_prefix, network=None):
    from core.runtime.model_io import ModelError, load_model
    model = load_model(src_prefix, epoch)  # checks the checkpoint loads before publishing it
    if network and model.network != network:
        raise ModelError('%s: network %s, the recipe says %s' % (src_prefix, model.network, network))
    for suffix in ('-symbol.json', '-%04d.params' % epoch):
        atomic_call(dst_prefix + suffix, lambda tmp, s=suffix: shutil.copyfile(src_prefix + s, tmp))
    return model.network


def val_ap(out, gt_dir, image_root, threads=2):
    """AP of the published cascade on the WIDER val subset (None when the data is absent)."""
    if not (os.path.isdir(gt_dir) and os.path.isdir(image_root)):
        return None
    from core.detect.cascade import default_cascade
    from core.evaluation import wider_eval as W
    det = default_cascade(backend='onnx', threads=threads, point='accurate', landmarks=False, card=out)
    gt = W.load_ground_truth(gt_dir)
    events = W.present_events(image_root, gt)
    pred_dir = os.path.join(out, '.val_pred')
    try:
        W.run_detector(det, W.official_images(image_root, gt, events), pred_dir, desc='val')
        aps, _, _ = W.evaluate(W.load_predictions(pred_dir, events), gt, events)
    finally:
        shutil.rmtree(pred_dir, ignore_errors=True)
    return aps


def publish(run, out, thresh=None, lnet=None, note='', gt_dir=None, image_root=None, force=False, lnet_flip=True):
    manifest = load_json(os.path.join(run, 'manifest.json'), 'pipeline manifest')
    if 'settings' not in manifest.get('cascade', {}):
        raise FormatError('%s: the manifest names no cascade settings (rerun the pipeline with this version)' % run)
    c = manifest['cascade']
    old = load_json(os.path.join(out, 'models.json'), 'model card') if os.path.exists(os.path.join(out, 'models.json')) \
        else None
    staging = out.rstrip('/') + '.new'
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    names = ['pnet20', 'rnet', 'onet']
    for src, epoch, net, dst in zip(c['prefix'], c['epoch'], c['networks'], names):
        _copy(src, epoch, os.path.join(staging, dst), net)
    settings = build(CascadeSettings, c['settings'], os.path.join(run, 'manifest.json'))
    if thresh:
        settings = settings.replace(thresh=stage_thresholds(thresh, 3, '--thresh'))
    recipe = manifest.get('recipe') or ''
    if recipe.startswith(REPO_ROOT + os.sep):
        recipe = os.path.relpath(recipe, REPO_ROOT)
    point = dict(thresh=list(settings.thresh), onet_flip=settings.onet_flip, onet_passes=settings.onet_passes)
    card = dict(prefix=names, epoch=c['epoch'], networks=c['networks'], min_face=settings.min_face, note=note,
                recipe=recipe, lnet=None, points=dict(default=point))
    if lnet:
        prefix, epoch = lnet
        card['lnet'] = dict(prefix='lnet', epoch=int(epoch), network=_copy(prefix, int(epoch),
                                                                             os.path.join(staging, 'lnet')),
                            flip=bool(lnet_flip))
    card_from_json(card, os.path.join(out, 'models.json'))
    save_json(os.path.join(staging, 'models.json'), card)
    if os.path.isfile(os.path.join(out, 'README.md')):  # the card's prose stays; its blocks follow models.json
        shutil.copyfile(os.path.join(out, 'README.md'), os.path.join(staging, 'README.md'))
    aps = val_ap(staging, gt_dir, image_root)
    if aps:
        card['val_ap'] = {k: round(v, 4) for k, v in aps.items()}
        card['val_point'] = point  # val_ap runs the accurate point, which is the default one until points are chosen
        save_json(os.path.join(staging, 'models.json'), card)
        before = (old or {}).get('val_ap')
        if before and not force and sum(aps.values()) < sum(before.values()):
            shutil.rmtree(staging)
            raise InputError('%s: the new cascade is worse on WIDER val (%s) than the published one (%s); '
                             'use --force to replace it anyway' % (out, _fmt(aps), _fmt(before)))
    write_readme(staging, card)
    backup = out.rstrip('/') + '.old'
    shutil.rmtree(backup, ignore_errors=True)
    if os.path.exists(out):
        os.replace(out, backup)
    os.replace(staging, out)
    shutil.rmtree(backup, ignore_errors=True)
    return card


def attach_lnet(out, lnet, note='', flip=True):
    """Add (or replace) the 5-point landmark net of the cascade published in ``out``; ``flip``: the tools run
    it on each face crop and its mirror and average the points."""
    card_path = os.path.join(out, 'models.json')
    card = load_json(card_path, 'model card')
    prefix, epoch = lnet
    from core.runtime.model_io import load_model
    if load_model(prefix, int(epoch)).info['kind'] != 'lnet':
        raise InputError('%s: not a landmark net' % prefix)
    network = _copy(prefix, int(epoch), os.path.join(out, 'lnet'))
    old = card.get('lnet') or {}
    if old.get('epoch') not in (None, int(epoch)):
        stale = os.path.join(out, 'lnet-%04d.params' % old['epoch'])
        if os.path.exists(stale):
            os.remove(stale)
    card['lnet'] = dict(prefix='lnet', epoch=int(epoch), network=network, note=note, flip=bool(flip))
    save_json(card_path, card)
    write_readme(out, card)
    return card


# --- the model card's README: blocks generated from models.json, the prose around them written by hand ----

BLOCK = re.compile(r'<!-- card:(\w+) -->\n.*?<!-- /card:\1 -->', re.S)


def _thresh(t):
    return ' / '.join('%g' % v for v in t)


def _onet(p):
    passes = p.get('onet_passes', DEFAULTS.onet_passes)
    return 'mirrored, %d passes' % passes if p.get('onet_flip') else \
        ('%d passes' % passes if passes > 1 else 'one plain pass')


def render_blocks(card):
    """{block name: markdown} of a card's JSON: its nets, its operating points, its WIDER val AP."""
    rows = ['| stage | network | checkpoint |', '|---|---|---|']
    for stage, prefix, epoch, net in zip(('Pnet', 'Rnet', 'Onet'), card['prefix'], card['epoch'], card['networks']):
        rows.append('| %s | `%s` | `%s-%04d.params` |' % (stage, net, prefix, epoch))
    lnet = card.get('lnet')
    if lnet:
        rows.append('| Lnet, 5 points%s | `%s` | `%s-%04d.params` |' % (
            ' (each face crop and its mirror, points averaged)' if lnet.get('flip') else '', lnet.get('network', ''),
            lnet['prefix'], lnet['epoch']))
    models = '\n'.join(rows) + '\n\nMinimum face %g px; trained by `%s`.' % (card['min_face'], card.get('recipe') or
                                                                        'a pipeline run')
    pts = ['| point | thresholds P / R / O | Onet | dev AP | dev precision | dev recall | dev s/img |',
           '|---|---|---|---|---|---|---|']
    for name in ('default', 'accurate'):
        p = card['points'].get(name)
        if not p:
            continue
        onet = _onet(p)
        cell = lambda k, f='%.4f': f % p[k] if p.get(k) is not None else ''  # noqa: E731
        pts.append('| `%s` | %s | %s | %s | %s | %s | %s |' % (name, _thresh(p['thresh']), onet, cell('dev_ap'),
                                                                cell('precision'), cell('recall'),
                                                                cell('s_per_img', '%.3f')))
    sw = card.get('sweep')
    if sw:
        pts.append('\nChosen by `tools/operating_points.py` on `%s` (%d dev images): `accurate` is the best dev AP, '
                   '`default` the best dev recall at a precision of at least %g among the plain settings%s; timed '
                   'with %d ONNX Runtime thread(s).' % (
                       sw['split'], sw['images'], sw['min_precision'],
                       ' at most %g× the shipped models\' %.3f s per image' % (sw['max_time_ratio'],
                                                                           sw['shipped_s_per_img'])
                       if sw.get('shipped_s_per_img') and sw.get('max_time_ratio') else '', sw['threads']))
    val, at = card.get('val_ap'), card.get('val_point')
    where = 'thresholds %s, Onet %s' % (_thresh(at['thresh']), _onet(at)) if at else 'the `accurate` point'
    val_text = ('WIDER val 5-event subset (394 images, min face %g) at %s, evaluated once when the '
                'cascade was published: easy **%s**, medium **%s**, hard **%s**.'
                % (card['min_face'], where, _ap3(val['easy']), _ap3(val['medium']), _ap3(val['hard']))) if val else \
        'Not evaluated on WIDER val (the data was not available when it was published).'
    return {'models': models, 'points': '\n'.join(pts), 'val': val_text}


def fill_blocks(text, blocks):
    """``text`` with each ``<!-- card:NAME -->`` block replaced by its rendering."""
    return BLOCK.sub(lambda m: '<!-- card:%s -->\n%s\n<!-- /card:%s -->' % (m.group(1), blocks[m.group(1)],
                                                                          m.group(1)), text)


SKELETON = """# Model card

<!-- card:models -->
<!-- /card:models -->

## Operating points

<!-- card:points -->
<!-- /card:points -->

## WIDER val

<!-- card:val -->
<!-- /card:val -->
"""


def readme_text(folder, card=None):
    """The model card's README of ``folder`` with its blocks rendered from ``card`` (default: its models.json);
    a skeleton when it has none yet."""
    card = card or load_json(os.path.join(folder, 'models.json'), 'model card')
    path = os.path.join(folder, 'README.md')
    text = open(path).read() if os.path.isfile(path) else SKELETON
    return fill_blocks(text, render_blocks(card))


def write_readme(folder, card=None):
    atomic_call(os.path.join(folder, 'README.md'),
                lambda tmp: open(tmp, 'w').write(readme_text(folder, card)))


def stale_blocks(folder):
    """Names of the README blocks that do not say what models.json says (empty when the card agrees)."""
    path = os.path.join(folder, 'README.md')
    have = {m.group(1): m.group(0) for m in BLOCK.finditer(open(path).read())}
    want = {m.group(1): m.group(0) for m in BLOCK.finditer(readme_text(folder))}
    return sorted(k for k in set(have) | set(want) if have.get(k) != want.get(k))


def _ap3(v):
    """An AP stored at 4 decimals shown at 3, half up as the docs' tables round it (0.7805 -> 0.781)."""
    return str(decimal.Decimal(repr(v)).quantize(decimal.Decimal('0.001'), rounding=decimal.ROUND_HALF_UP))


def _fmt(aps):
    return ' '.join('%s=%.4f' % kv for kv in aps.items())


def main(argv=None):
    ap = cli.parser(__doc__)
    data = os.path.join(config.shared, 'data', 'widerface')
    ap.add_argument('--run', default=None, help='pipeline run folder (with manifest.json); without it, --lnet '
                    'is attached to the cascade already in --out')
    ap.add_argument('--out', default=os.path.join(REPO_ROOT, 'model', 'default'))
    ap.add_argument('--thresh', default=None, help="the default point's thresholds (default: those of the run's "
                    'evaluation, the recipe\'s detector.thresh); tools/operating_points.py --write chooses both points')
    ap.add_argument('--lnet', default=None, help='5-point landmark net to ship with the cascade, as prefix,epoch')
    ap.add_argument('--lnet_flip', choices=('on', 'off'), default='on',
                    help='record that the tools average the landmark net\'s points over each face crop and its '
                         'mirror (chosen on the CUHK dev faces: 5.41 -> 5.16 %% NME)')
    ap.add_argument('--note', default='', help='free text stored in models.json')
    ap.add_argument('--gt_dir', default=os.path.join(data, 'eval_tools', 'ground_truth'))
    ap.add_argument('--image_root', default=os.path.join(data, 'WIDER_val', 'images'))
    ap.add_argument('--force', action='store_true', help='replace the published models even if worse on val')
    ap.add_argument('--readme', choices=('write', 'check'), default=None,
                    help="the model card's README in --out: rewrite its blocks from models.json, or check that they "
                         'agree (exit 1 when not)')
    args = ap.parse_args(argv)
    if args.readme == 'check':
        stale = stale_blocks(args.out)
        print('%s: %s' % (os.path.join(args.out, 'README.md'), 'agrees with models.json' if not stale else
                          'blocks %s differ from models.json (--readme write)' % ', '.join(stale)))
        return 1 if stale else 0
    if args.readme == 'write':
        write_readme(args.out)
        print('%s: blocks written from models.json' % os.path.join(args.out, 'README.md'))
        return 0
    lnet = None
    if args.lnet:
        prefix, _, epoch = args.lnet.rpartition(',')
        if not prefix or not epoch.isdigit():
            ap.error('--lnet takes prefix,epoch')
        lnet = (prefix, int(epoch))
    if not args.run:
        if not lnet:
            ap.error('give --run (a pipeline run to publish) or --lnet (a landmark net to attach)')
        card = attach_lnet(args.out, lnet, args.note, args.lnet_flip == 'on')
        print('attached %s (epoch %d) to %s' % (card['lnet']['network'], card['lnet']['epoch'], args.out))
        return 0
    card = publish(args.run, args.out, args.thresh, lnet, args.note, args.gt_dir, args.image_root, args.force,
                   args.lnet_flip == 'on')
    print('published %s (epochs %s, thresholds %s%s) to %s' % (', '.join(card['networks']), card['epoch'],
                                                                card['points']['default']['thresh'],
                                                                ', lnet ' + card['lnet']['network']
                                                                if card['lnet'] else '', args.out))
    if card.get('val_ap'):
        print('WIDER val: ' + _fmt(card['val_ap']))
    return 0


if __name__ == '__main__':
    sys.exit(cli.run(main))
