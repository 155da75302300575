"""Deployment formats: BatchNorm folding, ONNX (with a whole-cascade folder), ZQCNN."""
