"""The latency protocol of ``tools/deployment/benchmark_latency.py``.

One model at a time, batch 1, the task's fixed input size, a fixed number of threads for every
runtime; ``warmup`` untimed calls, then ``runs`` timed ones, reported as the median (p50) and the 95th
percentile (p95) in milliseconds. Runtimes: PyTorch eager (``torch.no_grad``, fp32), onnxruntime fp32
and onnxruntime INT8 (static QDQ, :func:`~saip_mm.deployment.quantize.quantize_int8`). Work is counted
once per model: parameters and GMAC (multiply-accumulates, the unit OpenMMLab model zoos print as
"FLOPs"), from ``torch.utils.flop_counter`` (which counts 2 FLOP per MAC).
"""
import os.path as osp
import time
from typing import Callable, Dict, Optional

import numpy as np
import torch

from .onnx_export import build_for_export, export_onnx, input_spec, preprocess
from .quantize import image_paths, quantize_int8


def percentiles(fn: Callable[[], object], warmup: int, runs: int) -> Dict[str, float]:
    """Call ``fn`` ``warmup`` times untimed, then ``runs`` times timed.

    Returns:
        dict: ``p50_ms`` and ``p95_ms`` of the timed calls.
    """
    if runs < 1:
        raise ValueError(f'runs must be >= 1, got {runs}')
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return dict(p50_ms=float(np.percentile(times, 50)), p95_ms=float(np.percentile(times, 95)))


def gmac(model: torch.nn.Module, x: torch.Tensor) -> float:
    """Multiply-accumulates (×1e9) of one forward pass of ``model`` on ``x``."""
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x)
    return counter.get_total_flops() / 2e9


def ort_session(path: str, threads: int):
    """An onnxruntime CPU session with ``threads`` intra-op threads and sequential execution."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(path, opts, providers=['CPUExecutionProvider'])


def measure(config: str, task: str, work_dir: str, name: str, threads: int, warmup: int, runs: int,
            image: str, calib: Optional[str] = None, calib_images: int = 32,
            shape: Optional[tuple] = None, cfg_options: Optional[dict] = None) -> dict:
    """Build ``config`` with random weights, export it, and time it under the protocol.

    Args:
        config (str): A config file or ``package::path``.
        task (str): The export task (``pose``, ``reid``, ...).
        work_dir (str): Where ``<name>.onnx`` and ``<name>.int8.onnx`` are written.
        name (str): File stem for the exported models.
        threads (int): Threads for PyTorch and onnxruntime.
        warmup, runs (int): Untimed and timed calls per runtime.
        image (str): A real image, preprocessed into the batch-1 input.
        calib (str, optional): Folder of crops for INT8 calibration; ``None`` skips INT8.
        calib_images (int): How many calibration crops.
        shape (tuple, optional): Input (H, W) instead of the config's.
        cfg_options (dict, optional): Merged into the config (see ``build_for_export``).

    Returns:
        dict: ``input`` (H, W), ``params_m``, ``gmac``, ``onnx_mb`` / ``int8_mb`` and ``eager``,
        ``ort_fp32``, ``ort_int8`` (each ``p50_ms`` / ``p95_ms``; INT8 keys absent without ``calib``).
    """
    import cv2
    torch.set_num_threads(threads)
    wrapper, cfg = build_for_export(config, None, task, cfg_options)
    spec = input_spec(cfg, task, shape)
    img = cv2.imread(image)
    if img is None:
        raise FileNotFoundError(f'cannot read image {image}')
    x = preprocess([img], spec)
    xt = torch.from_numpy(x)
    row = dict(input=spec['size'], params_m=sum(p.numel() for p in wrapper.parameters()) / 1e6,
               gmac=gmac(wrapper, xt))
    with torch.no_grad():
        row['eager'] = percentiles(lambda: wrapper(xt), warmup, runs)
    fp32 = export_onnx(wrapper, spec, osp.join(work_dir, f'{name}.onnx'), task)
    row['onnx_mb'] = osp.getsize(fp32) / 2**20
    session = ort_session(fp32, threads)
    row['ort_fp32'] = percentiles(lambda: session.run(None, {'input': x}), warmup, runs)
    if calib:
        int8 = quantize_int8(fp32, osp.join(work_dir, f'{name}.int8.onnx'),
                             image_paths(calib, calib_images), spec)
        row['int8_mb'] = osp.getsize(int8) / 2**20
        session = ort_session(int8, threads)
        row['ort_int8'] = percentiles(lambda: session.run(None, {'input': x}), warmup, runs)
    return row


__all__ = ['gmac', 'measure', 'ort_session', 'percentiles']
