"""train-mtcnn: train lightweight MTCNN face detectors with MXNet (a modern port of Zuo Qing's toolkit)."""
from setuptools import find_packages, setup

# Exact pins that install together on Python 3.11 (mxnet 1.9.1 needs numpy 1.23.5; its ONNX
# exporter needs onnx <= 1.17).
REQUIRES = [
    'mxnet==1.9.1',
    'numpy==1.23.5',
    'opencv-python-headless==4.10.0.84',
    'easydict==1.13',
    'tqdm==4.67.1',
    'scipy==1.15.3',
    'onnx==1.17.0',
    'protobuf==7.36.2',
    'onnxruntime==1.32.0',
    'pytest==9.2.0',
    'radon==6.0.1',          # the layout test's complexity check
    'scikit-image==0.22.0',  # embedded demo set: LFW face crops + natural images ship in its wheel
    'matplotlib==3.9.4',     # plots (PR, ROC, CED, training curves); 3.9 is the last line for numpy 1.23
    'contourpy==1.3.2',      # matplotlib's dependency, pinned to a release that accepts numpy 1.23.5
]

setup(
    name='train-mtcnn',
    version='0.1.0',
    description=__doc__,
    python_requires='>=3.8,<3.12',
    packages=find_packages(include=['core', 'core.*', 'symbols', 'prepare_data', 'tools']),
    py_modules=['config', 'cli'],
    install_requires=REQUIRES,
)
