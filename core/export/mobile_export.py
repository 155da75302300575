"""NCNN and MNN exports of a cascade, converted from this project's ONNX export by the converters that
PyPI ships (``pnnx``'s binary for NCNN, ``MNN``'s converter), both optional.

Every net is first exported to ONNX with the plain PRelu node at opset 11 (what both converters read
best), then converted; graphs hold inference only (no loss or label layers: the ONNX export has
none). NCNN: pnnx names blobs ``in0`` / ``out0`` …; they are renamed to the ONNX names (``data``,
``prob``, ``bbox``, ``landmarks``) in the ``.param`` text, and weights stay float32 (pnnx's default
fp16 weights moved Pnet outputs by ~3e-3). MNN keeps the ONNX names. ``cascade.json`` beside the
models holds the stages (files, input and output names, sizes, Pnet cell and stride), the detector
settings and the preprocessing, as the ONNX cascade's does.
"""
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile

from core.common.fileio import atomic_call, save_json
from .onnx_export import STAGE_FILES, export_cascade
from core.common.errors import SettingError

TARGETS = ('ncnn', 'mnn')


class ConverterError(RuntimeError):
    """A converter is missing or failed (its message names the net and the converter's output)."""


def pnnx_binary():
    """Path of the pnnx executable inside the ``pnnx`` package (its Python wrapper needs PyTorch;
    converting an ONNX file does not)."""
    spec = importlib.util.find_spec('pnnx')
    if spec is None or not spec.submodule_search_locations:
        raise ConverterError('NCNN export needs pnnx: pip install --no-deps pnnx (its binary converts ONNX; '
                             'PyTorch is not needed)')
    path = os.path.join(list(spec.submodule_search_locations)[0], 'pnnx.exe' if os.name == 'nt' else 'pnnx')
    if not os.path.isfile(path):
        raise ConverterError('%s: the pnnx package has no converter binary' % path)
    return path


def _run(cmd, what, cwd=None):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise ConverterError('%s failed (exit %d): %s' % (what, r.returncode, (r.stderr or r.stdout)[-1500:]))
    return r


def rename_blobs(param_text, names):
    """An NCNN ``.param`` text with blob names replaced (``names``: old -> new); layer names stay."""
    lines = param_text.splitlines()
    out = lines[:2]
    for line in lines[2:]:
        parts = line.split()
        if len(parts) < 4:
            out.append(line)
            continue
        n_blobs = int(parts[2]) + int(parts[3])
        blobs = [names.get(b, b) for b in parts[4:4 + n_blobs]]
        out.append(' '.join(parts[:4] + blobs + parts[4 + n_blobs:]))
    return '\n'.join(out) + '\n'


def onnx_to_ncnn(onnx_path, out_prefix, entry):
    """``out_prefix``.param / .bin from an ONNX net; blob names from ``entry`` (input, outputs)."""
    size = entry['size']
    shapes = ['inputshape=[1,3,%d,%d]' % (size, size)]
    if entry['kind'] == 'pnet':  # a second shape makes the Pnet's height and width dynamic
        shapes.append('inputshape2=[1,3,240,320]')
    with tempfile.TemporaryDirectory(prefix='mtcnn-pnnx-') as tmp:
        shutil.copyfile(onnx_path, os.path.join(tmp, 'net.onnx'))
        _run([pnnx_binary(), 'net.onnx'] + shapes + ['fp16=0'], 'pnnx on %s' % onnx_path, cwd=tmp)
        names = {'in0': entry.get('input', 'data')}
        names.update({'out%d' % k: name for k, name in enumerate(entry['outputs'])})
        with open(os.path.join(tmp, 'net.ncnn.param')) as f:
            text = rename_blobs(f.read(), names)

        def write_param(path):
            with open(path, 'w') as f:
                f.write(text)
        atomic_call(out_prefix + '.param', write_param)
        atomic_call(out_prefix + '.bin', lambda path: shutil.copyfile(os.path.join(tmp, 'net.ncnn.bin'), path))
    return out_prefix + '.param', out_prefix + '.bin'


def onnx_to_mnn(onnx_path, out_path):
    """``out_path`` (.mnn) from an ONNX net with MNN's converter (its C++ entry point, run in a
    subprocess: a converter crash must not take the exporter with it)."""
    if importlib.util.find_spec('MNN') is None:
        raise ConverterError('MNN export needs the MNN package: pip install MNN')
    code = 'import sys, _tools; _tools.mnnconvert(sys.argv)'

    def convert(tmp):
        _run([sys.executable, '-c', code, '-f', 'ONNX', '--modelFile', onnx_path, '--MNNModel', tmp,
              '--bizCode', 'MNN'], 'MNN convert on %s' % onnx_path)
        if not os.path.isfile(tmp) or os.path.getsize(tmp) == 0:
            raise ConverterError('MNN convert on %s wrote nothing' % onnx_path)
    atomic_call(out_path, convert)
    return out_path


def export_mobile_cascade(models, out_dir, settings, target):
    """A deployable NCNN or MNN folder (``target``): per stage ``pnet.param``/``pnet.bin`` (NCNN) or
    ``pnet.mnn`` (MNN) …, and ``cascade.json``. ``models``: {stage: InferenceModel}; ``settings``: the
    :class:`core.recipes.cascade_settings.CascadeSettings` it records. Returns the card."""
    if target not in TARGETS:
        raise SettingError('unknown target %r (%s)' % (target, ', '.join(TARGETS)))
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix='mtcnn-onnx-') as tmp:
        card = export_cascade(models, tmp, settings, opset=11, fast_prelu=False)
        for stage in STAGE_FILES:
            entry = card['stages'].get(stage)
            if entry is None:
                continue
            onnx_path = os.path.join(tmp, entry.pop('file'))
            entry['input'] = 'data'
            if target == 'ncnn':
                onnx_to_ncnn(onnx_path, os.path.join(out_dir, stage), entry)
                entry.update(param=stage + '.param', bin=stage + '.bin')
            else:
                onnx_to_mnn(onnx_path, os.path.join(out_dir, stage + '.mnn'))
                entry['file'] = stage + '.mnn'
    card.update(format='train-mtcnn %s cascade' % target, runtime=target, opset=None)
    save_json(os.path.join(out_dir, 'cascade.json'), card)
    return card
