"""INT8 post-training quantization of an exported model (onnxruntime static QDQ, per channel), and the
person-retrieval figure that tells what it cost.

Calibration reads real person crops (``demo/persons`` by default, frames 0–399 of ``vtest.avi``); the
retrieval check reads a Market-1501-layout set (``demo/vtest_reid``, frames 400–794), so the two
never share an image.
"""
import glob
import os.path as osp
import re
from typing import Callable, Dict, List, Sequence

import numpy as np
import torch

from .onnx_export import preprocess

MARKET_NAME = re.compile(r'^(-?\d+)_c(\d+)')


def image_paths(folder: str, limit: int = 0) -> List[str]:
    """Sorted ``.jpg``/``.png`` files of ``folder`` (recursively); ``limit`` > 0 keeps every k-th
    so that the choice spans the folder."""
    paths = sorted(p for ext in ('jpg', 'png') for p in glob.glob(osp.join(folder, '**', f'*.{ext}'),
                                                                    recursive=True))
    if not paths:
        raise FileNotFoundError(f'no .jpg/.png images in {folder}')
    if limit and len(paths) > limit:
        paths = paths[::len(paths) // limit][:limit]
    return paths


class CropReader:
    """onnxruntime ``CalibrationDataReader`` over real crops, ``batch`` images per call."""

    def __init__(self, paths: Sequence[str], spec: dict, batch: int = 8) -> None:
        import cv2
        self.batches = [preprocess([cv2.imread(p) for p in paths[i:i + batch]], spec)
                        for i in range(0, len(paths), batch)]

    def get_next(self):
        return {'input': self.batches.pop(0)} if self.batches else None


def quantize_int8(fp32_path: str, out_path: str, calib_paths: Sequence[str], spec: dict) -> str:
    """Static QDQ quantization of the compute ops (MatMul, Conv, Gemm): int8 per-channel weights,
    uint8 activations, MinMax calibration on ``calib_paths``.

    The graph first goes through onnxruntime's quantization pre-processing (shape inference and graph
    optimisation). Norms, softmax and GELU stay fp32: quantizing LayerNorm's 1-D weights per channel
    is not defined, and they are a negligible share of the work.

    Returns:
        str: ``out_path``.
    """
    import tempfile

    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process
    with tempfile.TemporaryDirectory() as tmp:
        pre = osp.join(tmp, 'pre.onnx')
        quant_pre_process(fp32_path, pre)
        quantize_static(pre, out_path, CropReader(calib_paths, spec), quant_format=QuantFormat.QDQ,
                        op_types_to_quantize=['MatMul', 'Conv', 'Gemm'], per_channel=True,
                        weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8)
    return out_path


def onnx_runner(path: str, threads: int = 0) -> Callable[[np.ndarray], np.ndarray]:
    """``x (N, 3, H, W) float32 -> first output`` through an onnxruntime CPU session
    (``threads`` intra-op threads, 0 = onnxruntime's default)."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    session = ort.InferenceSession(path, opts, providers=['CPUExecutionProvider'])
    return lambda x: session.run(None, {'input': x})[0]


def retrieval(run: Callable[[np.ndarray], np.ndarray], data_root: str, spec: dict,
              batch: int = 16) -> Dict[str, float]:
    """Rank-1 / mAP (%) of ``run``'s features on a Market-1501-layout set (camera-filtered)."""
    import cv2

    from ..evaluation.retrieval_metric import rank1_map

    def features(folder: str):
        paths = [p for p in image_paths(osp.join(data_root, folder))
                 if not osp.basename(p).startswith('-1')]  # Market's junk images
        feats = [run(preprocess([cv2.imread(p) for p in paths[i:i + batch]], spec))
                 for i in range(0, len(paths), batch)]
        ids = np.array([[int(v) for v in MARKET_NAME.match(osp.basename(p)).groups()] for p in paths])
        return torch.from_numpy(np.concatenate(feats)), ids[:, 0], ids[:, 1]

    qf, qp, qc = features('query')
    gf, gp, gc = features('bounding_box_test')
    out = rank1_map(qf, gf, qp, gp, qc, gc)
    return dict(R1=out['R1'], mAP=out['mAP'])


__all__ = ['CropReader', 'image_paths', 'onnx_runner', 'quantize_int8', 'retrieval']
