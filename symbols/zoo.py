"""One table of every network variant of the original README.

A trunk is a list of layer rows; the layer type follows from the name:

* ``('conv1', k, s, out[, pad])``  plain convolution
* ``('conv2_dw', k, s[, pad])``     depthwise convolution (channels kept)
* ``('conv2_sep', out)``           1×1 point-wise convolution
* ``('pool1', k, s)``              max pooling, ceil ("full") convention

Each conv is followed by an optional BatchNorm and a PReLU. Heads are added by
:mod:`symbols.builder` according to the network ``kind``.
"""

# --- trunks --------------------------------------------------------------------------------
_P20 = {
    'Pnet20_v00': [('conv1', 3, 2, 8), ('conv2_dw', 3, 2), ('conv2_sep', 16), ('conv3_dw', 2, 1),
                   ('conv3_sep', 24), ('conv4_dw', 3, 1)],
    'Pnet20_v0': [('conv1', 3, 2, 8), ('conv2_dw', 3, 1), ('conv2_sep', 16), ('conv3_dw', 3, 2),
                  ('conv3_sep', 24), ('conv4_dw', 3, 1)],
    'Pnet20_v1': [('conv1', 2, 1, 8), ('conv2_dw', 3, 2), ('conv2_sep', 8), ('conv3_dw', 3, 2),
                  ('conv3_sep', 16), ('conv4_dw', 2, 1), ('conv4_sep', 24), ('conv5_dw', 3, 1)],
    'Pnet20_v2': [('conv1', 2, 1, 8), ('conv2_dw', 3, 2), ('conv2_sep', 16), ('conv3_dw', 3, 2),
                  ('conv3_sep', 24), ('conv4_dw', 2, 1), ('conv4_sep', 24), ('conv5_dw', 3, 1)],
    'Pnet20_v3': [('conv1', 3, 1, 8), ('pool1', 3, 2), ('conv2_sep', 16), ('conv3_dw', 3, 2),
                  ('conv3_sep', 24), ('conv4_dw', 2, 1), ('conv4_sep', 32), ('conv5_dw', 3, 1)],
    'Pnet20_v4': [('conv1', 2, 1, 16), ('conv2_dw', 3, 2), ('conv2_sep', 32), ('conv3_dw', 3, 2),
                  ('conv3_sep', 32), ('conv4_dw', 2, 1), ('conv4_sep', 64), ('conv5_dw', 3, 1)],
    'Pnet20_v5': [('conv1', 3, 1, 16), ('pool1', 3, 2), ('conv2_sep', 24), ('conv3_dw', 3, 1),
                  ('conv3_sep', 32), ('conv4_dw', 3, 2), ('conv4_sep', 64), ('conv5_dw', 3, 1)],
    'Pnet20_v6': [('conv1', 2, 1, 16), ('conv2_dw', 3, 2), ('conv2_sep', 32), ('conv3_dw', 3, 1),
                  ('conv3_sep', 48), ('conv4_dw', 3, 2), ('conv4_sep', 64), ('conv5_dw', 3, 1)],
    'Pnet20_v7': [('conv1', 3, 1, 16), ('pool1', 3, 2), ('conv2_sep', 24), ('conv3_dw', 2, 1),
                  ('conv3_sep', 32), ('pool2', 2, 2), ('conv4_sep', 64), ('conv5_dw', 2, 1),
                  ('conv5_sep', 64), ('conv6_dw', 3, 1)],
    'Pnet20_v8': [('conv1', 2, 1, 32), ('conv2_dw', 3, 2), ('conv2_sep', 32), ('conv3_dw', 3, 2),
                  ('conv3_sep', 64), ('conv4_dw', 2, 1), ('conv4_sep', 128), ('conv5_dw', 3, 1)],
}


def _s2(c2, c3, c4, c5, c1=8):
    return [('conv1', 2, 1, c1), ('conv2_dw', 3, 2), ('conv2_sep', c2), ('conv3_dw', 3, 1),
            ('conv3_sep', c3), ('conv4_dw', 3, 1), ('conv4_sep', c4), ('conv5_dw', 3, 1),
            ('conv5_sep', c5), ('conv6_dw', 3, 1)]


_P20.update({
    'Pnet20_s2v1': _s2(16, 16, 24, 32),
    'Pnet20_s2v2': _s2(16, 24, 32, 64),
    'Pnet20_s2v3': _s2(24, 32, 48, 64, c1=16),
})

_P16 = {
    'Pnet16_v0': [('conv1', 3, 2, 16), ('conv2_dw', 3, 2), ('conv2_sep', 24), ('conv3_dw', 3, 1)],
    'Pnet16_v1': [('conv1', 2, 1, 8), ('conv2_dw', 3, 2), ('conv2_sep', 16), ('conv3_dw', 3, 2),
                  ('conv3_sep', 24), ('conv4_dw', 3, 1)],
}

_R = {
    'Rnet_v1': [('conv1', 2, 1, 32), ('conv2_dw', 3, 2), ('conv2_sep', 32), ('conv3_dw', 3, 2),
                ('conv3_sep', 64), ('conv4_dw', 3, 1), ('conv4_sep', 128), ('conv5_dw', 3, 1)],
    'Rnet_v2': [('conv1', 3, 1, 32), ('conv2_dw', 2, 1), ('conv2_sep', 32), ('conv3_dw', 3, 2),
                ('conv3_sep', 32), ('conv4_dw', 2, 1), ('conv4_sep', 64), ('conv5_dw', 3, 2),
                ('conv5_sep', 64), ('conv6_dw', 2, 1), ('conv6_sep', 128), ('conv7_dw', 3, 1)],
}

# "valid 2x2 / stride-2 3x3" MobileNet-like trunk shared by Lnet_v1/v2, Lnet106_v1/v2, Onet_v3.
_L48 = [('conv1', 3, 1, 32), ('conv2_dw', 2, 1), ('conv2_sep', 32), ('conv3_dw', 3, 2),
        ('conv3_sep', 64), ('conv4_dw', 2, 1), ('conv4_sep', 64), ('conv5_dw', 3, 2),
        ('conv5_sep', 128), ('conv6_dw', 2, 1), ('conv6_sep', 128), ('conv7_dw', 3, 2),
        ('conv7_sep', 256), ('conv8_dw', 2, 1), ('conv8_sep', 256), ('conv9_dw', 3, 1),
        ('conv9_sep', 256)]
_L96 = [('conv1', 3, 1, 32), ('conv2_dw', 2, 1), ('conv2_sep', 32), ('conv3_dw', 3, 2),
        ('conv3_sep', 64), ('conv4_dw', 2, 1), ('conv4_sep', 64), ('conv5_dw', 3, 2),
        ('conv5_sep', 64), ('conv6_dw', 2, 1), ('conv6_sep', 64), ('conv7_dw', 3, 2),
        ('conv7_sep', 128), ('conv8_dw', 2, 1), ('conv8_sep', 128), ('conv9_dw', 3, 2),
        ('conv9_sep', 256), ('conv10_dw', 2, 1), ('conv10_sep', 256), ('conv11_dw', 3, 1),
        ('conv11_sep', 256)]
_L64 = [('conv1', 2, 1, 32), ('conv2_dw', 3, 2), ('conv2_sep', 64), ('conv3_dw', 3, 2),
        ('conv3_sep', 128), ('conv4_dw', 3, 2), ('conv4_sep', 128), ('conv5_dw', 3, 2),
        ('conv5_sep', 256), ('conv6_dw', 3, 1), ('conv6_sep', 256)]
_L96_V3 = [('conv1', 2, 1, 32), ('conv2_dw', 3, 2), ('conv2_sep', 64), ('conv3_dw', 3, 2),
           ('conv3_sep', 128), ('conv4_dw', 3, 2), ('conv4_sep', 128), ('conv5_dw', 3, 2),
           ('conv5_sep', 256), ('conv6_dw', 3, 1), ('conv6_sep', 256), ('conv7_dw', 3, 1),
           ('conv7_sep', 256)]

_O = {
    'Onet_v1': [('conv1', 2, 1, 32), ('conv2_dw', 3, 2), ('conv2_sep', 32), ('conv3_dw', 3, 2),
                ('conv3_sep', 64), ('conv4_dw', 3, 2), ('conv4_sep', 64), ('conv5_dw', 3, 1),
                ('conv5_sep', 128), ('conv6_dw', 3, 1)],
    'Onet_v2': [('conv1', 2, 1, 32), ('conv2_dw', 3, 2), ('conv2_sep', 64), ('conv3_dw', 3, 2),
                ('conv3_sep', 64), ('conv4_dw', 3, 2), ('conv4_sep', 128), ('conv5_dw', 3, 1),
                ('conv5_sep', 256), ('conv6_dw', 3, 1)],
    'Onet_v3': [('conv1', 3, 1, 32), ('conv2_dw', 2, 1), ('conv2_sep', 32), ('conv3_dw', 3, 2),
                ('conv3_sep', 64), ('conv4_dw', 2, 1), ('conv4_sep', 64), ('conv5_dw', 3, 2),
                ('conv5_sep', 64), ('conv6_dw', 2, 1), ('conv6_sep', 64), ('conv7_dw', 3, 2),
                ('conv7_sep', 128), ('conv8_dw', 2, 1), ('conv8_sep', 256), ('conv9_dw', 3, 1)],
}

# Trunk of every O_Net when built with the 5-point head.
ONET_LANDMARK_TRUNK = [('conv1', 3, 1, 32, 1), ('conv2_dw', 3, 2, 1), ('conv2_sep', 64),
                       ('conv3_dw', 3, 2, 1), ('conv3_sep', 64), ('conv4_dw', 3, 2, 1),
                       ('conv4_sep', 128), ('conv5_dw', 3, 2, 1), ('conv5_sep', 256),
                       ('conv6_dw', 3, 1)]


def _spec(kind, size, trunk, bn=False, no_bias=False, sep_act='', n_points=0, basenum=None,
          original=''):
    return dict(kind=kind, size=size, trunk=trunk, bn=bn, no_bias=no_bias, sep_act=sep_act,
                n_points=n_points, basenum=basenum, original=original)


NETWORKS = {}
for _n, _t in _P20.items():
    NETWORKS[_n] = _spec('pnet', 20, _t,
                         original='P_Net20' if _n == 'Pnet20_v0' else 'P_Net20' + _n[6:])
for _n, _t in _P16.items():
    NETWORKS[_n] = _spec('pnet', 16, _t, original='P_Net16' if _n == 'Pnet16_v0' else 'P_Net16_v1')
NETWORKS['Rnet_v1'] = _spec('rnet', 24, _R['Rnet_v1'], original='R_Net')
NETWORKS['Rnet_v2'] = _spec('rnet', 24, _R['Rnet_v2'], original='R_Net_v2')
NETWORKS['Onet_v1'] = _spec('onet', 48, _O['Onet_v1'], original='O_Net')
NETWORKS['Onet_v2'] = _spec('onet', 48, _O['Onet_v2'], original='O_Net_v2')
NETWORKS['Onet_v3'] = _spec('onet', 48, _O['Onet_v3'], bn=True, no_bias=True, original='O_Net_v3')
# Landmark nets: channels given for basenum 32 and scaled by basenum/32.
NETWORKS['Lnet_v1'] = _spec('lnet', 48, _L48, sep_act='_sep', n_points=5, basenum=32, original='L_Net')
NETWORKS['Lnet_v2'] = _spec('lnet', 48, _L48, bn=True, sep_act='_sep', n_points=5, basenum=32,
                            original='L_Net_v2')
NETWORKS['Lnet_v3'] = _spec('lnet', 64, _L64, bn=True, sep_act='_sep', n_points=5, basenum=32,
                            original='L_Net64')
NETWORKS['Lnet106_v1'] = _spec('lnet', 48, _L48, sep_act='_sep', n_points=106, basenum=32,
                               original='L106_Net')
NETWORKS['Lnet106_v2'] = _spec('lnet', 48, _L48, bn=True, sep_act='_sep', n_points=106, basenum=32,
                               original='L106_Net_v2')
NETWORKS['Lnet106_96_v1'] = _spec('lnet', 96, _L96, sep_act='_sep', n_points=106, basenum=32,
                                  original='L106_Net96_v1')
NETWORKS['Lnet106_96_v2'] = _spec('lnet', 96, _L96, bn=True, sep_act='_sep', n_points=106, basenum=32,
                                  original='L106_Net96_v2')
NETWORKS['Lnet106_96_v3'] = _spec('lnet', 96, _L96_V3, bn=True, sep_act='_sep', n_points=106,
                                  basenum=32, original='L106_Net96_v3')
NETWORKS['Lnet106_64_v3'] = _spec('lnet', 64, _L64, bn=True, sep_act='_sep', n_points=106, basenum=32,
                                  original='L106_Net64 (before 91d5885)')

# Residual 106-point family: base width d, blocks per stage, fc widths as multiples of d.
RESIDUAL = {
    'L106_Net112': dict(size=112, d=8, blocks=(1, 2, 3, 2), fc=(16, 32)),
    'L106_Net112_s': dict(size=112, d=8, blocks=(1, 1, 1, 1), fc=(16, 32)),
    'L106_Net96': dict(size=96, d=8, blocks=(1, 2, 3, 2), fc=(16, 32)),
    'L106_Net80': dict(size=80, d=8, blocks=(1, 2, 3, 2), fc=(16, 32)),
    'L106_Net64': dict(size=64, d=8, blocks=(1, 2, 3, 2), fc=(16, 32)),
    'L106_Net112_big': dict(size=112, d=64, blocks=(2, 6, 10, 2), fc=(8, 8)),
}
for _n, _r in RESIDUAL.items():
    NETWORKS[_n] = dict(kind='lnet', size=_r['size'], residual=_r, n_points=106, basenum=None,
                        original=_n)
