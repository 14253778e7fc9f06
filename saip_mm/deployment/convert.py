"""Other forms of an exported fp32 ONNX model: simplified (onnxsim), FP16 (onnxruntime) and OpenVINO IR,
with runners that take the same normalised batch, so that each form is checked against the fp32 graph
the same way (``pytorch2onnx.py --simplify / --fp16 / --openvino``).

* **onnxsim** folds constants and removes redundant nodes; the result must compute the same function.
* **FP16** stores weights and computes in float16 where onnxruntime has kernels; inputs and outputs
  stay float32 (``keep_io_types``), so an application feeds it exactly as the fp32 graph.
* **OpenVINO IR** (``.xml`` + ``.bin``), optionally with weights compressed to FP16. OpenVINO's CPU
  plugin computes in bf16 where the processor supports it unless asked for f32, so its runner takes
  the inference precision explicitly.
"""
import os.path as osp
from typing import Callable, Dict, Optional

import numpy as np

Runner = Callable[[np.ndarray], np.ndarray]


def _keep_metadata(src, dst) -> None:
    """Copy ``src``'s metadata (task, preprocessing) onto ``dst``, whose own entries are dropped."""
    del dst.metadata_props[:]
    for prop in src.metadata_props:
        entry = dst.metadata_props.add()
        entry.key, entry.value = prop.key, prop.value


def simplify(src: str, dst: Optional[str] = None) -> Dict[str, int]:
    """Simplify ``src`` with onnxsim and write it to ``dst`` (default: in place), metadata kept.

    Returns:
        dict: ``nodes_before`` and ``nodes_after``.

    Raises:
        RuntimeError: If onnxsim's own check (random inputs through both graphs) fails.
    """
    import onnx
    import onnxsim
    model = onnx.load(src)
    simple, ok = onnxsim.simplify(model)
    if not ok:
        raise RuntimeError(f'onnxsim could not validate the simplified graph of {src}')
    _keep_metadata(model, simple)
    onnx.save(simple, dst or src)
    return dict(nodes_before=len(model.graph.node), nodes_after=len(simple.graph.node))


def to_fp16(src: str, dst: str) -> str:
    """Convert ``src``'s weights and compute to float16 (inputs and outputs stay float32).

    Returns:
        str: ``dst``.
    """
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16
    model = onnx.load(src)
    half = convert_float_to_float16(model, keep_io_types=True)
    _keep_metadata(model, half)
    entry = half.metadata_props.add()
    entry.key, entry.value = 'precision', 'fp16 weights and compute, fp32 inputs and outputs'
    onnx.save(half, dst)
    return dst


def openvino_available() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def to_openvino(src: str, xml: str, fp16: bool = False) -> str:
    """Convert ``src`` to OpenVINO IR (``xml`` and the ``.bin`` beside it), weights in FP16 if asked.

    Returns:
        str: ``xml``.

    Raises:
        ImportError: If ``openvino`` is not installed (it is optional).
    """
    if not openvino_available():
        raise ImportError('the OpenVINO conversion needs the optional package openvino '
                          '(pip install openvino)')
    import openvino as ov
    ov.save_model(ov.convert_model(src), xml, compress_to_fp16=fp16)
    return xml


def openvino_runner(xml: str, precision: Optional[str] = 'f32', threads: int = 0) -> Runner:
    """``x (N, 3, H, W) float32 -> first output`` through OpenVINO's CPU plugin.

    Args:
        xml (str): The IR.
        precision (str, optional): Inference precision hint ('f32', 'bf16', 'f16'); None keeps the
            plugin's default for this processor.
        threads (int): Inference threads, 0 = the plugin's default.
    """
    import openvino as ov
    config = {}
    if precision:
        config['INFERENCE_PRECISION_HINT'] = precision
    if threads:
        config['INFERENCE_NUM_THREADS'] = threads
    compiled = ov.Core().compile_model(xml, 'CPU', config)
    output = compiled.output(0)
    return lambda x: compiled(x)[output]


def openvino_default_precision() -> str:
    """The CPU plugin's default inference precision on this processor (e.g. 'bf16', 'f32')."""
    import openvino as ov
    hint = ov.Core().get_property('CPU', 'INFERENCE_PRECISION_HINT')
    return hint.get_type_name() if hasattr(hint, 'get_type_name') else str(hint)


def compare(run: Runner, ref: Runner, batch: np.ndarray) -> Dict[str, float]:
    """Largest difference of ``run``'s first output from ``ref``'s on ``batch`` and on its first image
    alone (the dynamic batch), relative to ``ref``'s output scale.

    Returns:
        dict: ``max_abs_diff``, ``scale``, ``rel_diff``.
    """
    diff, scale = 0.0, 0.0
    for x in (batch, batch[:1]):
        ours, theirs = run(x), ref(x)
        if ours.shape != theirs.shape:
            raise AssertionError(f'output {ours.shape} != reference {theirs.shape}')
        diff = max(diff, float(np.abs(ours.astype(np.float32) - theirs).max()))
        scale = max(scale, float(np.abs(theirs).max()))
    return dict(max_abs_diff=diff, scale=scale, rel_diff=diff / max(scale, 1e-12))


def file_mb(path: str) -> float:
    """Size in MB of a model file, with the weights file beside an OpenVINO ``.xml``."""
    size = osp.getsize(path)
    if path.endswith('.xml'):
        size += osp.getsize(osp.splitext(path)[0] + '.bin')
    return round(size / 2**20, 2)


__all__ = ['compare', 'file_mb', 'openvino_available', 'openvino_default_precision', 'openvino_runner',
           'simplify', 'to_fp16', 'to_openvino']
