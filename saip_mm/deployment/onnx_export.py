"""ONNX export of SAIP students and their downstream models, with an onnxruntime parity check.

Plain ``torch.onnx.export`` (TorchScript exporter, opset 17, dynamic batch axis) and onnxruntime: the
path edge users run (mmdeploy's last release pins an old runtime and has no ViTPose / embedding
models). The exported graph takes a normalised ``float32`` batch ``(N, 3, H, W)``; how to normalise
(mean, std, channel order, size) is written into the ONNX metadata, so that an application needs
nothing from OpenMMLab to feed it.

The outputs of each task (its output contract), how it is built and scored are its entry in
``saip_mm/deployment/tasks.py`` (``DOWNSTREAM_TASKS``): ``backbone`` (a pretraining config and a SAIP or
exported checkpoint: the student's global feature), ``reid``, ``attribute``, ``pose``, ``seg``. With
``keypoints`` (heatmap pose heads) the outputs also hold ``keypoints`` ``(N, K, 2)`` (x, y in input
pixels: the heatmap maximum, scaled as the config's codec scales it, without the codec's sub-pixel
refinement) and ``scores`` ``(N, K)`` (the maximum).
"""
import copy
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.utils import import_modules_from_strings

from ..utils.checkpoint import load_checkpoint
from .static_pooling import static_adaptive_pools
from .tasks import get_task

IMAGENET = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])


class ExportWrapper(nn.Module):
    """A model's inference path as one tensor in, one tensor out: its task's output contract
    (``DownstreamTask.forward``).

    Args:
        model (nn.Module): The built model (the student encoder for ``backbone``).
        task (str | DownstreamTask): A registered task (``saip_mm/deployment/tasks.py``).
        keypoint_scale (tuple, optional): Tasks with ``keypoints`` only: (sx, sy) from heatmap cells to
            input pixels; given, the outputs also hold the decoded ``keypoints`` and ``scores`` (see
            ``codec_scale``).
    """

    def __init__(self, model: nn.Module, task, keypoint_scale: Optional[Tuple[float, float]] = None) -> None:
        super().__init__()
        self.model, self.entry = model, get_task(task)
        self.task = self.entry.name
        self.keypoint_scale = keypoint_scale

    @property
    def output_names(self) -> List[str]:
        return ['output', 'keypoints', 'scores'] if self.keypoint_scale else ['output']

    def forward(self, x: torch.Tensor):
        """Args: x ``(N, 3, H, W)`` normalised. Returns: the task's output; a tuple (heatmaps, keypoints,
        scores) when decoding keypoints."""
        out = self.entry.forward(self.model, x)
        if self.keypoint_scale:
            return (out, ) + heatmap_maximum(out, self.keypoint_scale)
        return out


def heatmap_maximum(heatmaps: torch.Tensor, scale: Tuple[float, float]) -> Tuple[torch.Tensor, torch.Tensor]:
    """Keypoints at the heatmap maxima (mmpose's ``get_heatmap_maximum``, first maximum on ties),
    scaled to input pixels.

    Args:
        heatmaps (Tensor): ``(N, K, h, w)``.
        scale (tuple): (sx, sy) input pixels per heatmap cell.

    Returns:
        tuple: keypoints ``(N, K, 2)`` (x, y) and scores ``(N, K)`` (the maxima).
    """
    n, k, _, w = heatmaps.shape
    flat = heatmaps.reshape(n, k, -1)
    scores, index = flat.max(dim=-1)
    xy = torch.stack((index % w, torch.div(index, w, rounding_mode='floor')), dim=-1).to(heatmaps.dtype)
    return xy * xy.new_tensor(scale), scores


def codec_scale(codec: dict) -> Tuple[float, float]:
    """(sx, sy) input pixels per heatmap cell as mmpose's heatmap codecs decode: ``UDPHeatmap`` maps
    cell ``W - 1`` to ``input_size`` (``keypoints / [W - 1, H - 1] * input_size``), the others scale by
    ``input_size / heatmap_size``.

    Raises:
        ValueError: If the codec has no heatmap (e.g. RTMPose's SimCC).
    """
    if 'heatmap_size' not in codec:
        raise ValueError(f"decoded keypoints need a heatmap codec; {codec.get('type')} has no heatmap_size")
    (iw, ih), (hw, hh) = codec['input_size'], codec['heatmap_size']
    if codec['type'].split('.')[-1] == 'UDPHeatmap':
        return iw / (hw - 1), ih / (hh - 1)
    return iw / hw, ih / hh


def load_state(path: str) -> Dict[str, torch.Tensor]:
    """The state dict of a runner checkpoint or a bare one (e.g. ``saip2backbone.py`` output), read
    with torch's safe loader (``saip_mm.utils.checkpoint``: errors name the file)."""
    return load_checkpoint(path)['state']


def load_config(config: str) -> Config:
    """A config file, or an upstream one named ``package::path`` (``mmpose::body_2d_keypoint/…``)."""
    if '::' in config:
        from mmengine.hub import get_config
        return get_config(config)
    if not osp.isfile(config):
        raise FileNotFoundError(f'config not found: {config}')
    return Config.fromfile(config)


def build_for_export(config: str, checkpoint: Optional[str], task: str,
                     cfg_options: Optional[dict] = None,
                     keypoints: bool = False) -> Tuple[ExportWrapper, Config]:
    """Build the model of ``config``, load ``checkpoint`` strictly and wrap it for ``task``.

    ``checkpoint=None`` keeps the random initialisation (latency needs no weights); then no
    pretrained weights are fetched either. Any other value is a file to load (an empty path is an
    error, not random weights). ``cfg_options`` are merged into the config first (e.g.
    ``{'model.head': None}``: an mmpretrain classifier as a pooled-feature embedder). ``keypoints``
    (pose with a heatmap codec) adds the decoded keypoints and scores to the outputs.

    Raises:
        KeyError: If the checkpoint's keys do not match the model (names the missing ones).
    """
    entry = get_task(task)
    if keypoints and not entry.keypoints:
        raise ValueError(f'decoded keypoints are a pose output, not {entry.name}')
    import saip_mm.datasets  # noqa: F401  (registers the modules configs name)
    import saip_mm.evaluation  # noqa: F401
    import saip_mm.models  # noqa: F401
    cfg = load_config(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    state = load_state(checkpoint) if checkpoint is not None else None
    model = entry.build(cfg, state, checkpoint)
    scale = codec_scale(cfg.codec) if keypoints else None
    return ExportWrapper(model, entry, keypoint_scale=scale).eval(), cfg


def input_spec(cfg: Config, task: str, shape: Optional[Sequence[int]] = None) -> dict:
    """How to feed the exported model: ``size`` (H, W), ``mean``, ``std`` (0–255 scale) and
    ``channel_order`` ('RGB' or 'BGR') of the normalised input, from the config."""
    if shape is None:
        shape = get_task(task).input_size(cfg)
    pre = cfg.model.get('data_preprocessor') or {}
    rgb = pre.get('bgr_to_rgb', pre.get('to_rgb', True))
    return dict(size=[int(shape[0]), int(shape[1])], mean=list(pre.get('mean', IMAGENET['mean'])),
                std=list(pre.get('std', IMAGENET['std'])), channel_order='RGB' if rgb else 'BGR',
                layout='NCHW float32, (pixel - mean) / std')


def export_onnx(wrapper: ExportWrapper, spec: dict, out: str, task: str, opset: int = 17) -> str:
    """Write ``out`` (dynamic batch axis, input ``input``, outputs ``wrapper.output_names``: ``output``
    first) with ``spec`` and the task in the ONNX metadata. Returns the path."""
    import onnx
    h, w = spec['size']
    wrapper.eval()  # torch.onnx.export restores the mode it finds: make that inference
    dummy = torch.zeros(2, 3, h, w)
    outputs = wrapper.output_names
    names = dict(input_names=['input'], output_names=outputs, opset_version=opset)
    # the graph has a fixed spatial size: adaptive poolings (UPerNet's pyramid) become fixed slices at
    # the size they see, which the TorchScript exporter can write (on a copy; the wrapper stays as built)
    graph = copy.deepcopy(wrapper)
    static_adaptive_pools(graph, dummy)
    with torch.no_grad():
        try:  # the TorchScript exporter: fast, and exact for the ViT / ConvNet students and heads
            torch.onnx.export(graph, (dummy, ), out, dynamo=False,
                              dynamic_axes={n: {0: 'batch'} for n in ['input'] + outputs}, **names)
            exporter = 'torchscript'
        except torch.onnx.errors.OnnxExporterError:
            # a graph it cannot size otherwise: the torch.export-based exporter (onnxscript) traces it
            # with static spatial sizes
            torch.onnx.export(graph, (dummy, ), out, dynamo=True,
                              dynamic_shapes=({0: torch.export.Dim('batch')}, ), **names)
            exporter = 'dynamo'
    model = onnx.load(out)
    meta = dict(task=task, preprocess=json.dumps(spec), exporter=exporter)
    if wrapper.keypoint_scale:
        meta['keypoints'] = 'x, y in input pixels at the heatmap maximum (no sub-pixel refinement)'
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, out)
    return out


def preprocess(images: Sequence[np.ndarray], spec: dict) -> np.ndarray:
    """BGR uint8 images (as OpenCV reads them) → the normalised batch the exported model takes."""
    import cv2
    h, w = spec['size']
    mean, std = np.asarray(spec['mean'], np.float32), np.asarray(spec['std'], np.float32)
    batch = []
    for img in images:
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        if spec['channel_order'] == 'RGB':
            img = img[..., ::-1]
        batch.append(((img - mean) / std).transpose(2, 0, 1))
    return np.ascontiguousarray(np.stack(batch), dtype=np.float32)


def verify(wrapper: ExportWrapper, onnx_path: str, batch: np.ndarray) -> dict:
    """Run PyTorch and onnxruntime on ``batch`` (and on its first image alone: the dynamic batch).

    Returns:
        dict: ``max_abs_diff``, ``scale`` (max |PyTorch output|), ``rel_diff`` (their ratio, over
        both batch sizes) of the first output, and ``batch_sizes``; with decoded keypoints also
        ``keypoints_agree``: the share of keypoints that the two runtimes place within 1 input pixel
        (a maximum can move to a neighbouring cell under rounding when two cells nearly tie).
    """
    import onnxruntime as ort
    wrapper.eval()
    session = ort.InferenceSession(onnx_path, providers=['CPUExecutionProvider'])
    diff, scale, agree = 0.0, 0.0, []
    for x in (batch, batch[:1]):
        ours = session.run(None, {'input': x})
        with torch.no_grad():
            ref = wrapper(torch.from_numpy(x))
        ref = [t.numpy() for t in (ref if isinstance(ref, tuple) else (ref, ))]
        if [o.shape for o in ours] != [r.shape for r in ref]:
            raise AssertionError(f'onnxruntime outputs {[o.shape for o in ours]} != PyTorch '
                                 f'{[r.shape for r in ref]}')
        diff = max(diff, float(np.abs(ours[0] - ref[0]).max()))
        scale = max(scale, float(np.abs(ref[0]).max()))
        if len(ref) == 3:
            agree.append(np.linalg.norm(ours[1] - ref[1], axis=-1) <= 1.0)
    out = dict(max_abs_diff=diff, scale=scale, rel_diff=diff / max(scale, 1e-12),
               batch_sizes=[len(batch), 1])
    if agree:
        out['keypoints_agree'] = float(np.concatenate([a.ravel() for a in agree]).mean())
    return out


__all__ = ['ExportWrapper', 'build_for_export', 'codec_scale', 'export_onnx', 'heatmap_maximum', 'input_spec',
           'load_config', 'load_state', 'preprocess', 'verify']
