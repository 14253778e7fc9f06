"""The same task metric from PyTorch and from onnxruntime (``pytorch2onnx.py --verify``).

A downstream config's own test loop (the real mmengine ``Runner``, its dataset, pipeline, data
preprocessor, post-processing and evaluator) runs once per runtime. In each run, the part of the model
that the ONNX file holds is replaced by a callable (normalised batch in, ``ExportWrapper`` output out):
the task's entry decides where (``DownstreamTask.route_through``, ``saip_mm/deployment/tasks.py``; e.g.
pose: ``extract_feat`` passes the input through and ``head.forward`` returns the runtime's heatmaps, so
mmpose's flip test and decoding run as usual). A segmentation graph exported with a static spatial size
gets the input zero-padded at the bottom / right and its logits cropped back, for both runtimes, so that
the two compute the same thing.

So any difference between the two metrics comes from the runtime alone.
"""
import copy
import tempfile
import uuid
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from torch import Tensor

from .tasks import get_task, task_names

Run = Callable[[Tensor], Tensor]


def metric_tasks() -> List[str]:
    """The registered tasks scored by their config's test loop (``metric='loop'``)."""
    return [name for name in task_names() if get_task(name).metric == 'loop']


def route_through(model: torch.nn.Module, task: str, run: Run) -> None:
    """Make ``model``'s test-time inference call ``run`` for the exported part (module docstring).

    Raises:
        ValueError: For a task without a test-loop metric.
    """
    entry = get_task(task)
    if entry.metric != 'loop':
        raise ValueError(f'task metric from a test loop: one of {tuple(metric_tasks())}, got {task!r}')
    entry.route_through(model, run)


def padded_to(run: Run, size: Optional[Sequence[int]]) -> Run:
    """``run`` on inputs zero-padded (bottom / right) to a static ``(H, W)``, output cropped back."""
    if size is None:
        return run

    def padded(x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        if h > size[0] or w > size[1]:
            raise ValueError(f'input {h}x{w} is larger than the static ONNX input {size[0]}x{size[1]}')
        return run(F.pad(x, (0, size[1] - w, 0, size[0] - h)))[..., :h, :w]
    return padded


def onnx_run(path: str, threads: int = 2) -> Run:
    """A tensor-in, tensor-out callable over an onnxruntime session of ``path``."""
    from .quantize import onnx_runner
    session = onnx_runner(path, threads)
    return lambda x: torch.from_numpy(session(np.ascontiguousarray(x.detach().cpu().numpy(), np.float32)))


def static_size(path: str) -> Optional[Sequence[int]]:
    """The ONNX input's fixed ``(H, W)``, or None when either axis is dynamic."""
    import onnx
    dims = onnx.load(path, load_external_data=False).graph.input[0].type.tensor_type.shape.dim[2:]
    return tuple(int(d.dim_value) for d in dims) if all(d.HasField('dim_value') for d in dims) else None


def loop_metrics(cfg: Config, task: str, run: Run, work_dir: Optional[str] = None) -> Dict[str, float]:
    """The metrics of ``cfg``'s test loop with the exported part of the model replaced by ``run``.

    Args:
        cfg (Config): A downstream config whose ``test_dataloader`` / ``test_evaluator`` point at the
            data to score (e.g. the project's sample sets, through ``cfg_options``).
        task (str): A task with a test-loop metric (``metric_tasks()``).
        run (callable): Normalised batch ``(N, 3, H, W)`` -> the exported model's output.
        work_dir (str, optional): Where the runner logs; by default a temporary folder, removed when
            the loop ends.

    Returns:
        dict: The evaluator's figures, e.g. ``{'coco/AP': ...}``, ``{'mIoU': ...}``.
    """
    if work_dir is None:
        with tempfile.TemporaryDirectory(prefix='saip_metric_') as tmp:
            return loop_metrics(cfg, task, run, tmp)
    from mmengine.runner import Runner

    from ..utils.launcher import replace_sync_bn
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    cfg.experiment_name = f'{task}_metric_{uuid.uuid4().hex[:8]}'
    cfg.load_from, cfg.resume = None, False  # the exported part is `run`; nothing else has weights
    cfg.test_dataloader.update(num_workers=0, persistent_workers=False)
    for key in ('backbone', 'neck'):
        if isinstance(cfg.model.get(key), dict):
            cfg.model[key].pop('init_cfg', None)
    replace_sync_bn(cfg.model)
    cfg.visualizer = dict(type=cfg.visualizer.type, vis_backends=[dict(type='LocalVisBackend')]) \
        if cfg.get('visualizer') else None
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    route_through(runner.model, task, run)
    return {k: float(v) for k, v in runner.test().items()}


def metrics_by_runtime(cfg: Config, task: str, wrapper: torch.nn.Module, onnx_path: str,
                       threads: int = 2) -> Dict[str, Dict[str, float]]:
    """``loop_metrics`` for PyTorch (``wrapper``) and for onnxruntime (``onnx_path``), each in a
    temporary folder removed afterwards."""
    size = static_size(onnx_path)
    wrapper.eval()

    def first(x: Tensor) -> Tensor:  # the heatmaps of an export with decoded keypoints
        out = wrapper(x)
        return out[0] if isinstance(out, tuple) else out
    return {name: loop_metrics(cfg, task, padded_to(run, size))
            for name, run in (('pytorch', first), ('onnx_fp32', onnx_run(onnx_path, threads)))}


__all__ = ['loop_metrics', 'metric_tasks', 'metrics_by_runtime', 'padded_to', 'route_through', 'static_size']
