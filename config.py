"""Project settings as an easydict: paths and the original's loss constants.

Paths are relative to the repository by default and can be overridden by environment
variables (``MTCNN_ROOT``, ``MTCNN_SHARED``, ``MTCNN_LANDMARK_IMG_SET``) or, in every entry
point, by command-line flags (see :func:`add_config_args`).
"""
import os

from easydict import EasyDict as edict

REPO_ROOT = os.path.dirname(os.path.abspath(__file__))

config = edict()

# Project root for data generation, hard mining and landmark loaders (original: 'F:/train-mtcnn').
config.root = os.environ.get('MTCNN_ROOT', REPO_ROOT)
# Read-only reference material beside the project (tests and benchmarks skip without it).
config.shared = os.environ.get('MTCNN_SHARED', os.path.join(os.path.dirname(REPO_ROOT), 'shared'))

# Online hard example mining in the losses.
config.CLS_OHEM = True
config.CLS_OHEM_RATIO = 0.7
config.BBOX_OHEM = True
config.BBOX_OHEM_RATIO = 0.7
config.LANDMARK_OHEM = False
config.LANDMARK_OHEM_RATIO = 0.7
config.landmark_L1_thresh = 0.001
config.EPS = 1e-14

# Loss weights (this port): the original HEAD's gradient scales — bbox 4(b−t)/K, 5-point
# landmarks 4(l−t)/K, 106-point 2(l−t)/K — with cross-entropy for classification.
config.cls_weight = 1.0
config.bbox_weight = 2.0
config.landmark_weight = 2.0
config.landmark_weight_106 = 1.0

# Training settings (augmentation switches such as the original's enable_gray / enable_black_border /
# landmark106_migu_weighting, rotation ranges, OHEM on/off, the stage table of every .bat training
# step) are recipe fields: core/recipe.py holds each one's default, scripts/recipes/train/*.json the
# recipes, and every trainer takes them as flags (train_P20.py --help).

# Sub-folder of <root>/data holding landmark images.
config.landmark_img_set = os.environ.get('MTCNN_LANDMARK_IMG_SET', 'img_cut_celeba')


def data_dir(*parts):
    """``<root>/data/...``"""
    return os.path.join(config.root, 'data', *parts)


def model_dir(*parts):
    """``<root>/model/...``"""
    return os.path.join(config.root, 'model', *parts)


def landmark_image_root(list_path):
    """Where the images of a landmark list live: ``data/<config.landmark_img_set>`` for a list in
    ``data/imglists`` (the original's layout: ``106data_merge.txt`` there, its images under
    ``data/106data_merge/``), else the list's own folder."""
    lists = os.path.realpath(data_dir('imglists'))
    if os.path.dirname(os.path.realpath(list_path)) == lists:
        return data_dir(config.landmark_img_set)
    return os.path.dirname(os.path.abspath(list_path))


def shared_dir(*parts):
    """``<shared>/...`` (the read-only reference folder)."""
    return os.path.join(config.shared, *parts)


def add_config_args(parser):
    """Add ``--root`` / ``--shared`` flags to an argparse parser."""
    parser.add_argument('--root', default=None, help='project root (default: %s)' % config.root)
    parser.add_argument('--shared', default=None, help='reference folder (default: %s)' % config.shared)
    return parser


def apply_config_args(args):
    """Apply the flags added by :func:`add_config_args`."""
    if getattr(args, 'root', None):
        config.root = os.path.abspath(args.root)
    if getattr(args, 'shared', None):
        config.shared = os.path.abspath(args.shared)
    return config
