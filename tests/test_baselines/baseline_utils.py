"""What the baseline tests share: a baseline's model and a real demo batch, a few steps on a repeated
batch, a short run under the real Runner, and the export of its checkpoint into the ViTPose config."""
import os.path as osp
import sys
from typing import List, Optional, Tuple

import numpy as np
import torch
from cfg_paths import ROOT, SMALL_VIT
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from saip_mm.engine.hooks import resolve_schedules
from saip_mm.models.heads import CSMHead
from saip_mm.models.utils import ConstantValue
from saip_mm.registry import DATASETS, MODELS

POSE_CFG = 'configs/downstream/mmpose/td-hm_vit-tiny-p16_8xb64-210e_coco-256x192.py'


def model_and_data(config: str, n: int = 4, **model_updates) -> Tuple[Config, torch.nn.Module, dict]:
    """The config, its initialised model (``model_updates`` merged into ``cfg.model`` first) and a
    ``pseudo_collate`` batch of the first ``n`` samples of its training set, the same for a given
    config. A paper-scale config reads the embedded demo crops instead of LUP1M (those with keypoints,
    demo/hp_persons, when it asks for a keypoint file). A ViT student has 4 blocks (``SMALL_VIT``):
    these checks are of a method's terms, not of the student's depth."""
    cfg = Config.fromfile(osp.join(ROOT, config))
    cfg.merge_from_dict({f'model.{k}': v for k, v in model_updates.items()})
    if cfg.model.backbone.type == 'SAIPViT':
        cfg.model.backbone.update(SMALL_VIT)
    ds = cfg.train_dataloader.dataset
    if not osp.isdir(ds.data_root) and ds.get('keypoint_file'):
        ds.update(data_root=osp.join(ROOT, 'demo/hp_persons'), ann_file='list.txt', background_dir=None)
    elif not osp.isdir(ds.data_root):
        ds.update(data_root=osp.join(ROOT, 'demo/persons'), ann_file='list.txt', background_dir='backgrounds')
    with DefaultScope.overwrite_default_scope('saip_mm'):
        model = MODELS.build(cfg.model)
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
    model.init_weights()
    torch.manual_seed(0)
    np.random.seed(0)  # the pipeline's augmentations
    return cfg, model, pseudo_collate([dataset[i] for i in range(n)])


def losses_on_repeated_batch(model, batch: dict, steps: int = 12, lr: float = 5e-4) -> List[dict]:
    """Train ``steps`` AdamW steps (clipping at 3) on one batch, updating the expert after each;
    returns each step's log (``loss`` and its terms) as floats."""
    optim = build_optim_wrapper(model, dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=lr),
                                            clip_grad=dict(max_norm=3.0)))
    model.train()
    resolve_schedules(model, steps, steps)  # what SchedulesHook gives a run of `steps`
    for head in [m for m in model.modules() if isinstance(m, CSMHead)]:
        # τt held at its start, as these loops always ran it: the same batch, equally sharp targets
        head.teacher_temp = ConstantValue(head.teacher_temp_at(0))
    logs = []
    for _ in range(steps):
        log = model.train_step(batch, optim)
        model.update_expert()
        logs.append({k: float(v.detach()) for k, v in log.items()})
    return logs


def held_randomness_logs(config: str, seed: int, **model_updates) -> List[dict]:
    """``losses_on_repeated_batch`` of ``config``'s model (``model_updates`` merged) on 4 demo samples,
    with the model-side randomness held (one generator seeded ``seed`` for every step: masks, λ, parts),
    so that the batch is truly repeated."""
    _, model, batch = model_and_data(config, 4, **model_updates)
    model._generator = lambda: torch.Generator().manual_seed(seed)
    return losses_on_repeated_batch(model, batch)


def assert_losses_fall(logs: List[dict], keys) -> None:
    """Each of ``keys`` is finite at every step of ``logs`` and ends (best of the last 3 steps) at least
    0.05 below its first value."""
    for key in keys:
        values = [log[key] for log in logs]
        assert all(v == v and abs(v) < 1e4 for v in values), (key, values)
        assert min(values[-3:]) < values[0] - 0.05, (key, values)


def short_run(config: str, work_dir: str, iters: int = 3, hooks: Optional[list] = None) -> Runner:
    """``iters`` iterations of batch 4 of ``config`` under the real Runner (no validation), with a
    checkpoint at the end, ``hooks`` registered besides the config's."""
    cfg = Config.fromfile(osp.join(ROOT, config))
    cfg.work_dir = work_dir
    cfg.train_dataloader.batch_size = 4
    cfg.train_cfg.update(max_iters=iters)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None  # the loop validates at its last iteration
    cfg.default_hooks.checkpoint.update(interval=iters, save_best=None)
    cfg.custom_hooks = [h for h in cfg.custom_hooks if h.type not in (
        'ValBeforeTrainHook', 'ProgressBarHook', 'PretrainVisualizationHook')]
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    runner = Runner.from_cfg(cfg)
    for hook in hooks or []:
        runner.register_hook(hook)
    runner.train()
    return runner


def export_backbone(checkpoint: str, out: str) -> None:
    """Export ``checkpoint`` with ``saip2backbone.py`` to ``out``."""
    sys.path.insert(0, osp.join(ROOT, 'tools', 'model_converters'))
    from saip2backbone import main as export
    export([checkpoint, out])


def export_and_build(checkpoint: str, out: str, config: str):
    """Export ``checkpoint`` with ``saip2backbone.py`` to ``out`` and build the mmpose ``config`` with
    its backbone initialised from ``out`` (``init_weights`` run). Returns the pose model."""
    export_backbone(checkpoint, out)
    from mmengine.registry import init_default_scope
    pose = Config.fromfile(osp.join(ROOT, config))
    pose.model.backbone.init_cfg.checkpoint = out
    init_default_scope('mmpose')
    try:
        from mmpose.registry import MODELS as POSE_MODELS
        model = POSE_MODELS.build(pose.model)
        model.init_weights()
    finally:
        init_default_scope('saip_mm')
    return model


def export_loads_into_vitpose(checkpoint: str, out: str, trained: dict, config: str = POSE_CFG):
    """Export ``checkpoint`` with ``saip2backbone.py`` and load it into the ViTPose ``config``; the pose
    backbone then holds the trained tensors (``trained``: the algorithm's backbone state dict).
    Returns the pose model."""
    model = export_and_build(checkpoint, out, config)
    loaded = model.backbone.state_dict()
    for key in ('ln1.weight', 'layers.0.attn.qkv.weight', 'layers.11.ffn.layers.1.weight'):
        assert torch.equal(loaded[key], trained[key]), key
    return model


def teacher_pass(model, globals_, lam):
    """SOLIDER's teacher on the two global crops at ``lam`` ``(B,)``: its tokens (the DINO targets), and
    the semantic labels and their validity from its tokens at λ = 1 (``SemanticTokens.teacher_labels``)."""
    step = model.new_step(dict(anchor=globals_[0], views=list(globals_[1:])))
    step.semantic_weight = lam
    ids = list(range(len(globals_)))
    labels, valid = model.objectives['semantic'].teacher_labels(step, ids)
    return step.expert_tokens(ids), labels, valid
