"""The downstream tasks of the deployment path, one registered entry each (``DOWNSTREAM_TASKS``).

An entry says everything that export, verification and the task metric need of its task, so that adding
a task is one class here (``docs/advanced_guides/add_a_downstream_task.md``):

* ``forward``: the exported graph's output (the **output contract**) from the built model and a
  normalised batch ``(N, 3, H, W)``;
* ``build``: the model to export from a config and an optional state dict;
* ``input_size``: the default ``(H, W)`` from the config;
* ``metric``: ``'retrieval'`` (Rank-1 / mAP on a Market-1501-layout set), ``'loop'`` (the config's
  own test loop, with the exported part replaced by a runtime: ``route_through``) or ``None``;
  ``main_metric``: ``(key, points per unit)`` of the figure whose drop marks a converted form degraded;
* ``keypoints``: whether decoded keypoints can be added to the outputs (heatmap pose heads).

``tools/deployment/pytorch2onnx.py --task`` offers the registered names; ``ExportWrapper`` and
``task_metric`` look the entry up instead of switching on strings.
"""
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch import Tensor

from saip_mm.registry import DOWNSTREAM_TASKS

from ..utils.launcher import replace_sync_bn

Run = Callable[[Tensor], Tensor]
State = Optional[Dict[str, Tensor]]


def load_strict(model: nn.Module, state: Dict[str, torch.Tensor], path: str) -> None:
    """Load ``state`` into ``model``; any missing, unexpected or re-shaped tensor is an error naming
    ``path``."""
    def show(keys: List[str]) -> str:
        return ', '.join(keys[:8]) + (f' … ({len(keys)} in all)' if len(keys) > 8 else '')
    own = model.state_dict()
    wrong = [f'{k} {tuple(v.shape)} vs {tuple(own[k].shape)}' for k, v in state.items()
             if k in own and v.shape != own[k].shape]
    if wrong:  # e.g. a head trained for another number of identities / classes
        raise ValueError(f'{path} does not match the config: {len(wrong)} tensor(s) of another shape '
                         f'(checkpoint vs config) [{show(wrong)}]; use the config it was trained with')
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise KeyError(f'{path} does not match the config: missing {len(result.missing_keys)} key(s)'
                       f' [{show(result.missing_keys)}], unexpected {len(result.unexpected_keys)}'
                       f' [{show(result.unexpected_keys)}]')


def build_model(cfg_model: dict, scope: str) -> nn.Module:
    """Build a model config in its default scope (``mmpose``, ``mmseg``, ``saip_mm``, ...)."""
    from mmengine.registry import MODELS
    with DefaultScope.overwrite_default_scope(scope):
        return MODELS.build(cfg_model)


class DownstreamTask:
    """A downstream model's inference path and how to score it (module docstring). Subclasses set the
    class attributes and override what differs; the defaults fit an OpenMMLab model whose ``tensor`` mode
    returns the head's raw output."""
    name: str = ''
    metric: Optional[str] = None  # 'retrieval', 'loop' or None
    main_metric: Optional[Tuple[str, float]] = None
    keypoints: bool = False
    description: str = ''  # the output contract, one line (``--help``, docs)

    def build(self, cfg: Config, state: State, path: Optional[str]) -> nn.Module:
        """The whole downstream model of ``cfg``, its weights from ``state`` (strict) when given."""
        for key in ('backbone', 'neck'):  # the checkpoint holds the weights: no pretrained loading
            if isinstance(cfg.model.get(key), dict):
                cfg.model[key].pop('init_cfg', None)
        replace_sync_bn(cfg.model)  # inference on one device: SyncBN is BN with running statistics
        model = build_model(cfg.model, cfg.get('default_scope', 'saip_mm'))
        if state is not None:
            load_strict(model, state, path)
        return model

    def raw(self, model: nn.Module, x: Tensor):
        """The model's raw inference output (before ``output``)."""
        return model(x, None, mode='tensor')

    def output(self, raw, x: Tensor) -> Tensor:
        """The output contract from the raw output (default: the last of several outputs)."""
        return raw[-1] if isinstance(raw, (tuple, list)) else raw

    def forward(self, model: nn.Module, x: Tensor) -> Tensor:
        """The exported output for a normalised batch ``x`` ``(N, 3, H, W)``."""
        return self.output(self.raw(model, x), x)

    def input_size(self, cfg: Config) -> Tuple[int, int]:
        """The default ``(H, W)`` of the exported input (a person crop)."""
        return (256, 128)

    def route_through(self, model: nn.Module, run: Run) -> None:
        """For ``metric='loop'``: make ``model``'s test-time inference call ``run`` (normalised batch in,
        this task's output out) for the part the ONNX file holds."""
        raise ValueError(f'task {self.name!r} has no test-loop metric')


@DOWNSTREAM_TASKS.register_module('backbone')
class BackboneTask(DownstreamTask):
    """The student alone, from a pretraining config and a SAIP or ``saip2backbone.py`` checkpoint."""
    name, metric, main_metric = 'backbone', 'retrieval', ('mAP', 1.0)
    description = ('global feature (N, C): a ViT\'s final-norm class token, a ConvNet\'s pooled last '
                   'stage')

    def build(self, cfg: Config, state: State, path: Optional[str]) -> nn.Module:
        student = cfg.model.backbone.copy()
        adapter = student.get('type') == 'TokenAdapter'  # a ConvNet student: export its encoder
        nested = adapter and any(k.startswith('backbone.encoder.') for k in state or ())
        prefix = 'backbone.encoder.' if nested else 'backbone.'
        if adapter:
            student = student.encoder
        else:
            student.update(out_type='cls_token')
        model = build_model(student, 'saip_mm')
        if state is not None:
            load_strict(model, {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}, path)
        return model

    def raw(self, model: nn.Module, x: Tensor):
        return model(x)

    def output(self, raw, x: Tensor) -> Tensor:
        out = super().output(raw, x)
        return out.mean(dim=(2, 3)) if out.dim() == 4 else out  # a feature map: pooled


@DOWNSTREAM_TASKS.register_module('reid')
class ReIDTask(DownstreamTask):
    """Person re-identification (``configs/downstream/reid``)."""
    name, metric, main_metric = 'reid', 'retrieval', ('mAP', 1.0)
    description = 'L2-normalised embedding (N, C)'

    def output(self, raw, x: Tensor) -> Tensor:
        return F.normalize(super().output(raw, x), dim=1)


@DOWNSTREAM_TASKS.register_module('attribute')
class AttributeTask(DownstreamTask):
    """Pedestrian attributes (``configs/downstream/attribute``)."""
    name, metric, main_metric = 'attribute', 'loop', ('attribute/mA', 1.0)
    description = 'sigmoid scores (N, num_attributes)'

    def output(self, raw, x: Tensor) -> Tensor:
        return super().output(raw, x).sigmoid()

    def route_through(self, model: nn.Module, run: Run) -> None:
        model.extract_feat = lambda inputs: inputs
        model.head.forward = lambda feats: torch.logit(run(feats), eps=1e-7)  # head.predict applies sigmoid


@DOWNSTREAM_TASKS.register_module('pose')
class PoseTask(DownstreamTask):
    """Top-down pose estimation (``configs/downstream/mmpose``)."""
    name, metric, main_metric, keypoints = 'pose', 'loop', ('coco/AP', 100.0), True
    description = ('heatmaps (N, K, H/4, W/4); a SimCC head: its x and y vectors concatenated '
                   '(N, K, Wx + Wy)')

    def output(self, raw, x: Tensor) -> Tensor:
        if isinstance(raw, (tuple, list)) and len(raw) == 2:
            return torch.cat(raw, dim=-1)  # SimCC (x, y) vectors: one output
        return super().output(raw, x)

    def input_size(self, cfg: Config) -> Tuple[int, int]:
        w, h = cfg.codec.input_size
        return (int(h), int(w))

    def route_through(self, model: nn.Module, run: Run) -> None:
        model.extract_feat = lambda inputs: inputs  # flip test and decoding run as usual on the output
        model.head.forward = run


@DOWNSTREAM_TASKS.register_module('seg')
class SegTask(DownstreamTask):
    """Human parsing (``configs/downstream/mmseg``)."""
    name, metric, main_metric = 'seg', 'loop', ('mIoU', 1.0)
    description = 'class logits at the input size (N, num_classes, H, W)'

    def output(self, raw, x: Tensor) -> Tensor:
        return F.interpolate(super().output(raw, x), size=x.shape[-2:], mode='bilinear', align_corners=False)

    def input_size(self, cfg: Config) -> Tuple[int, int]:
        return tuple(int(s) for s in cfg.crop_size)

    def route_through(self, model: nn.Module, run: Run) -> None:
        model.encode_decode = lambda inputs, metas: run(inputs)


def task_names() -> List[str]:
    """The registered tasks, in registration order."""
    return list(DOWNSTREAM_TASKS.module_dict)


def get_task(name) -> DownstreamTask:
    """The entry of task ``name`` (an entry passes through).

    Raises:
        ValueError: For an unregistered name, listing the registered ones.
    """
    if isinstance(name, DownstreamTask):
        return name
    if name not in DOWNSTREAM_TASKS.module_dict:
        raise ValueError(f'task must be one of {tuple(task_names())}, got {name!r}')
    return DOWNSTREAM_TASKS.get(name)()


__all__ = ['DownstreamTask', 'build_model', 'get_task', 'load_strict', 'task_names']
