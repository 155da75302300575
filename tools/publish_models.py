"""Publish a pipeline run's final cascade as the project's default models.

    python tools/publish_models.py --run runs/wider --out model/default --thresh 0.5,0.5,0.7

Copies the inference checkpoints (``-symbol.json`` + ``.params``; no optimizer states) of the
run's P-with-hard, R and O nets to ``--out`` as ``pnet20``/``rnet``/``onet`` and writes
``models.json`` (prefixes, epochs, thresholds, networks, the run's recipe). ``demo.py`` and
``tools/eval_wider.py`` use that cascade when no ``--prefix`` is given.
"""
import argparse
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from core.model_io import ModelError, load_model  # noqa: E402


def publish(run, out, thresh, note=''):
    manifest = json.load(open(os.path.join(run, 'manifest.json')))
    cfg = manifest['config']
    epochs = [cfg.get('ph_epochs') or cfg['p_epochs'], cfg['r_epochs'], cfg['o_epochs']]
    sources = [('pnet20_hard', 'pnet20', cfg['pnet']), ('rnet', 'rnet', cfg['rnet']), ('onet', 'onet', cfg['onet'])]
    os.makedirs(out, exist_ok=True)
    for (src, dst, network), epoch in zip(sources, epochs):
        prefix = os.path.join(run, 'model', src)
        model = load_model(prefix, epoch)  # checks the checkpoint loads before publishing it
        if model.network != network:
            raise ModelError('%s: network %s, expected %s' % (prefix, model.network, network))
        for suffix in ('-symbol.json', '-%04d.params' % epoch):
            tmp = os.path.join(out, dst + suffix + '.tmp')
            shutil.copyfile(prefix + suffix, tmp)
            os.replace(tmp, os.path.join(out, dst + suffix))
    card = dict(prefix=[d for _, d, _ in sources], epoch=epochs, thresh=[float(t) for t in thresh.split(',')],
                networks=[n for _, _, n in sources], min_face=cfg.get('min_face', 20), note=note,
                recipe={k: v for k, v in cfg.items()})
    tmp = os.path.join(out, 'models.json.tmp')
    with open(tmp, 'w') as f:
        json.dump(card, f, indent=1)
    os.replace(tmp, os.path.join(out, 'models.json'))
    return card


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--run', required=True, help='pipeline run folder (with manifest.json)')
    ap.add_argument('--out', default=os.path.join('model', 'default'))
    ap.add_argument('--thresh', default='0.5,0.5,0.7', help='stage thresholds to record with the models')
    ap.add_argument('--note', default='', help='free text stored in models.json (data, AP, ...)')
    args = ap.parse_args(argv)
    try:
        card = publish(args.run, args.out, args.thresh, args.note)
    except (OSError, KeyError, ModelError) as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 2
    print('published %s (epochs %s, thresholds %s) to %s' % (', '.join(card['networks']), card['epoch'],
                                                               card['thresh'], args.out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
