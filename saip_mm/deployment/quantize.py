"""INT8 post-training quantization of an exported model (onnxruntime static QDQ, per channel), and the
person-retrieval figure that tells what it cost.

Calibration reads real person crops (``demo/persons`` by default, frames 0–399 of ``vtest.avi``); the
retrieval check reads a Market-1501-layout set (``demo/vtest_reid``, frames 400–794), so the two
never share an image.
"""
import glob
import os.path as osp
import re
import warnings
from typing import Callable, Dict, List, Optional, Sequence, Tuple

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


def read_images(paths: Sequence[str], what: str) -> Tuple[List[str], List[np.ndarray]]:
    """Decode images (BGR uint8) as the training datasets do (``read_image``: empty, truncated or
    non-image files are unreadable), skipping the unreadable ones with a warning naming each.

    Args:
        paths (Sequence[str]): Image files.
        what (str): What they are for, e.g. ``'--calib'`` (named in the warning and the error).

    Returns:
        tuple: The readable paths and their images, in order.

    Raises:
        FileNotFoundError: If none of them can be read.
    """
    from ..datasets.person_crops import read_image
    kept, images = [], []
    for path in paths:
        img = read_image(path)
        if img is None:
            warnings.warn(f'{what}: skipped unreadable image {path}')
            continue
        kept.append(path)
        images.append(img)
    if paths and not images:
        raise FileNotFoundError(f'{what}: none of the {len(paths)} image(s) can be read (first: {paths[0]})')
    return kept, images


class CropReader:
    """onnxruntime ``CalibrationDataReader`` over real crops, ``batch`` images per call (unreadable
    files skipped, see ``read_images``)."""

    def __init__(self, paths: Sequence[str], spec: dict, batch: int = 8) -> None:
        _, images = read_images(paths, 'calibration')
        self.batches = [preprocess(images[i:i + batch], spec) for i in range(0, len(images), batch)]

    def get_next(self):
        return {'input': self.batches.pop(0)} if self.batches else None


def quantize_int8(fp32_path: str, out_path: str, calib_paths: Sequence[str], spec: dict,
                  scheme: Optional[dict] = None) -> str:
    """Static QDQ quantization of the compute ops (MatMul, Conv, Gemm): per-channel 8-bit weights,
    uint8 activations, MinMax calibration on ``calib_paths``. The weight type is the ``scheme``'s
    (``int8_scheme``: int8 with VNNI, uint8 on x86 without it, where int8 weights saturate; default: the
    scheme for this CPU).

    The graph first goes through onnxruntime's quantization pre-processing (shape inference and graph
    optimisation). Norms, softmax and GELU stay fp32: quantizing LayerNorm's 1-D weights per channel
    is not defined, and they are a negligible share of the work.

    Returns:
        str: ``out_path``.
    """
    import tempfile

    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from .int8_scheme import choose_scheme
    scheme = scheme or choose_scheme()
    with tempfile.TemporaryDirectory() as tmp:
        pre = osp.join(tmp, 'pre.onnx')
        quant_pre_process(fp32_path, pre)
        quantize_static(pre, out_path, CropReader(calib_paths, spec), quant_format=QuantFormat.QDQ,
                        op_types_to_quantize=['MatMul', 'Conv', 'Gemm'], per_channel=True,
                        weight_type=getattr(QuantType, scheme['weight']),
                        activation_type=getattr(QuantType, scheme['activation']))
    return out_path


def onnx_runner(path: str, threads: int = 0) -> Callable[[np.ndarray], np.ndarray]:
    """``x (N, 3, H, W) float32 -> first output`` through an onnxruntime CPU session
    (``threads`` intra-op threads, 0 = onnxruntime's default)."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    session = ort.InferenceSession(path, opts, providers=['CPUExecutionProvider'])
    return lambda x: session.run(None, {'input': x})[0]


def check_market_layout(data_root: str, flag: str = '--reid-data') -> None:
    """Fail naming ``data_root`` unless it holds a Market-1501 layout's ``query/`` and
    ``bounding_box_test/`` folders."""
    missing = [f for f in ('query', 'bounding_box_test') if not osp.isdir(osp.join(data_root, f))]
    if missing:
        raise FileNotFoundError(f'{flag} {data_root}: no {" and no ".join(m + "/" for m in missing)} folder '
                                '(a Market-1501 layout is expected, e.g. demo/vtest_reid)')


def retrieval(run: Callable[[np.ndarray], np.ndarray], data_root: str, spec: dict,
              batch: int = 16) -> Dict[str, float]:
    """Rank-1 / mAP (%) of ``run``'s features on a Market-1501-layout set (camera-filtered;
    unreadable images skipped with a warning naming each)."""
    from ..evaluation.retrieval_metric import rank1_map

    def features(folder: str):
        paths = [p for p in image_paths(osp.join(data_root, folder))
                 if not osp.basename(p).startswith('-1')]  # Market's junk images
        paths, images = read_images(paths, f'retrieval set {data_root}')
        feats = [run(preprocess(images[i:i + batch], spec)) for i in range(0, len(images), batch)]
        ids = np.array([[int(v) for v in MARKET_NAME.match(osp.basename(p)).groups()] for p in paths])
        return torch.from_numpy(np.concatenate(feats)), ids[:, 0], ids[:, 1]

    qf, qp, qc = features('query')
    gf, gp, gc = features('bounding_box_test')
    out = rank1_map(qf, gf, qp, gp, qc, gc)
    return dict(R1=out['R1'], mAP=out['mAP'])


__all__ = ['CropReader', 'check_market_layout', 'image_paths', 'onnx_runner', 'quantize_int8', 'read_images',
           'retrieval']
