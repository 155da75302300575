"""Project settings as an easydict: the original's fields and defaults, and the stage table.

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

# Online augmentation. Every training batch: a brightness factor, then grey (enable_gray) or per-channel
# gains (enable_color_jitter), then Gaussian noise; landmark batches are also blurred (enable_blur).
# 106-point lists: ..._weighting doubles the eyebrow and lip targets (4x their loss; predictions are halved
# when such a net runs), ..._random_flip mirrors crops (re-indexing the points), ..._init_rot makes each face
# upright before its random rotation. enable_black_border: a grey band over part of each crop (P/R/O: from
# the left, up to 0.6 of the side; 106-point crops: left or right, up to half the side).
config.enable_gray = True
config.enable_blur = True
config.enable_gaussian_noise = True
config.enable_color_jitter = True
config.landmark106_migu_weighting = False
config.landmark106_migu_random_flip = False
config.landmark106_migu_init_rot = False
config.enable_black_border = False

# Rotation range (degrees, inclusive) of online landmark augmentation.
config.min_rot_angle = -45
config.max_rot_angle = 45
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


# --- the stage table: every training recipe of the original, one entry per .bat training step ---
# ``script`` is the entry point, ``network`` its default variant (the original's scripts import fixed
# names: P_Net20 is Pnet20_v0, R_Net Rnet_v1, O_Net Onet_v1, L_Net Lnet_v1, L_Net64 Lnet_v3, L106_Net
# Lnet106_v1), ``image_set`` the list under data/imglists, ``prefix`` the checkpoint prefix. Each
# phase is one trainer command of the .bat; a second phase continues from the checkpoint the first
# one ended with, at a new learning rate with a fresh optimizer. The learning rates are the
# original's: losses are means over the kept samples of a batch (the original HEAD's loss heads),
# summed over devices. ``save_every`` 10 for the landmark-only trainers, as the original.
# Entry points (train_P20.py, ...), scripts/*.sh and tools/pipeline.py all read their defaults here.
def _phase(lr, lr_epoch, end_epoch, batch_size, frequent, **kw):
    return dict(lr=lr, lr_epoch=lr_epoch, end_epoch=end_epoch, batch_size=batch_size, frequent=frequent, **kw)


def _stage(script, network, image_set, prefix, phases, **kw):
    return edict(script=script, network=network, image_set=image_set, prefix=prefix, phases=phases, **kw)


_L106_ONLINE = [_phase(0.01, '2500,5000,8000', 8000, 100, 10)]
config.STAGES = edict({
    'P20': _stage('train_P20.py', 'Pnet20_v0', 'train_20_1', 'model/pnet20', [_phase(0.001, '8,14', 16, 1000, 10)]),
    'P20_hard': _stage('train_P20.py', 'Pnet20_v0', 'train_20_with_hard_1', 'model/pnet20_hard',
                       [_phase(0.001, '4,8', 8, 200, 1000), _phase(0.00001, '100,200', 32, 50000, 10)]),
    # no .bat trains Pnet16: train_P_net16.py's own defaults, and the list gen_imglist writes
    'P16': _stage('train_P16.py', 'Pnet16_v0', 'train_16_1', 'model/pnet16', [_phase(0.01, '8,14', 16, 512, 100)]),
    'R': _stage('train_R.py', 'Rnet_v1', 'train_24_with_hard_1', 'model/rnet',
                [_phase(0.003, '8,14,100', 3, 500, 100), _phase(0.001, '8,14,100', 16, 10000, 20)]),
    'O': _stage('train_O.py', 'Onet_v1', 'train_48_with_hard_1', 'model/onet',
                [_phase(0.003, '8,14,100', 3, 500, 100), _phase(0.001, '8,14,100', 16, 5000, 20)]),
    'O_landmark': _stage('train_O.py', 'Onet_v1', 'train_48_with_hard_landmark_1', 'model/onet',
                         [_phase(0.005, '8,14,100', 30, 2000, 100)], with_landmark=True),
    'L': _stage('train_L.py', 'Lnet_v1', 'landmark', 'model/lnet', [_phase(0.001, '8,14,100', 16, 2000, 100)]),
    'L_online': _stage('train_L.py', 'Lnet_v1', 'img_cut_celeba_all', 'model/lnet',
                       [_phase(0.01, '2000,4000', 5000, 100, 100)], online=True, list_format='celeba', save_every=10),
    # Not in the original: 5-point crops framed by the detector's own boxes (prepare_data/landmark_boxes.py on
    # the cleaned CUHK list), the output BatchNorm frozen at the targets' statistics, L1 loss, Adam; a tenth
    # of the list held out as the dev split (its lmNME is the detection protocol's NME on those faces).
    'L_box': _stage('train_L.py', 'Lnet_v2', 'data/landmark_boxes/train.txt', 'model/lnet_box',
                    [_phase(0.001, '22,28', 32, 64, 20, optimizer='adam')], online=True, list_format='celeba',
                    framing='box', target_norm=True, landmark_loss='l1', prelu_init=0.25, val_ratio=0.1,
                    photometric=False),
    'L_online_64': _stage('train_L.py', 'Lnet_v3', 'img_cut_celeba_all', 'model/lnet64_v3',
                          [_phase(0.01, '2000,4000', 5000, 100, 100)], online=True, list_format='celeba',
                          save_every=10),
    'L106': _stage('train_L106.py', 'Lnet106_v1', '106data_merge', 'model/lnet106',
                   [_phase(0.01, '1000,1500', 5000, 100, 10)], online=True, list_format='l106', save_every=10),
    'L106_112': _stage('train_L106.py', 'L106_Net112', '106data_merge', 'model/lnet106_112', _L106_ONLINE,
                       online=True, list_format='l106', save_every=10, min_landmark_size=80),
    'L106_96': _stage('train_L106.py', 'L106_Net96', '106data_merge', 'model/lnet106_96', _L106_ONLINE,
                      online=True, list_format='l106', save_every=10),
    'L106_80': _stage('train_L106.py', 'L106_Net80', '106data_merge', 'model/lnet106_80',
                      [_phase(0.01, '2500,5000,8000', 8000, 1000, 10)], online=True, list_format='l106',
                      save_every=10, min_landmark_size=80),
    'L106_64': _stage('train_L106.py', 'L106_Net64', '106data_merge', 'model/lnet106_64', _L106_ONLINE,
                      online=True, list_format='l106', save_every=10),
    # offline 106-point crops (gen_landmark --points 106): the original resumed these at epoch 170 / 570
    'L106_64_offline': _stage('train_L106.py', 'L106_Net64', 'landmark106_64', 'model/lnet106_64',
                              [_phase(0.1, '200,4000,20000', 60000, 1000, 10, begin_epoch=170, resume=True)],
                              flip=False, save_every=10),
    'L106_80_offline': _stage('train_L106.py', 'L106_Net80', 'landmark106', 'model/lnet106_80',
                              [_phase(0.1, '200,4000,20000', 60000, 1000, 10, begin_epoch=570, resume=True)],
                              flip=False, save_every=10),
})
