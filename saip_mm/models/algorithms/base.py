"""The one loss frame of every pretraining method: a student, an optional expert, and objectives.

In the spirit of mmpretrain's ``BaseSelfSupervisor``: the algorithm owns what is the same for every
method (the student and the expert, the step counter, the retrieval evaluation); each objective
(``models/objectives``) owns its neck, head and loss. SAIP, DINO, MAE, MAE+DINO, HAP, PersonViT and
SOLIDER are lists of objectives (``saip.py``, ``personvit.py``, ...).

One training step (``loss``)::

    step = Step(images=[anchor, *views], ...)     # what every objective reads
    self.prepare(step)                            # a method's own draws (PersonViT: masked crops)
    for objective: objective.prepare(step)        # shared draws (SOLIDER: lambda, labels)
    step.encode_student(union of objectives' student_views)   # each image encoded once
    losses = {**objective.loss(step) for objective}           # loss_* summed by mmengine
"""
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
from mmengine.model import ModuleDict
from mmpretrain.models import BaseSelfSupervisor
from torch import Tensor

from saip_mm.registry import MODELS

from ..objectives.base import Step
from ..objectives.csm import csm_of
from ..objectives.options import EVAL_OPTIONS, LEVELS, validate_options
from ..utils.compile import compile_blocks
from ..utils.host_counter import add_host_counter
from ..utils.retrieval import retrieval_features


@MODELS.register_module()
class PretrainAlgorithm(BaseSelfSupervisor):
    """A student pretrained by a set of objectives.

    Args:
        backbone (dict): The student image encoder (``SAIPViT`` or a ``TokenAdapter``).
        objectives (dict): ``{name: objective config}`` (``dict(type='CSM', neck=..., head=...,
            **options)``); the name is the objective's config key and log prefix (``loss_<name>``);
            ``None`` values are left out (ablations are configs).
        expert (dict, optional): ``dict(type='CosineEMAExpert', ...)`` (an EMA copy of the student and of
            the objectives' ``mirrored`` units), ``dict(type='ExternalExpert', ...)`` (a frozen pretrained
            encoder whose tokens pass through a learned projection per token level, ``expert_proj``), or
            ``None`` when no objective reads an expert (MAE).
        seed (int): Base seed of the model-side draws and of the initial weights (``Step.generator``:
            from ``(seed, rank, step)``, so that a resumed run repeats them).
        eval_cfg (dict, optional): What ``predict`` mode (retrieval) extracts: ``dict(scales=(0.75, 1.0,
            1.5), feature='global', encoder='student', level='final', csm_diagnostics=True)``; scale 1.0
            must be among the scales (it gives ``pred_feature``).
        data_preprocessor (dict, optional): Defaults to ``SAIPDataPreprocessor``; the objectives'
            ``preprocessor_options`` (CSR's mask ratio and type) reach it as arguments.
        compile_encoders (bool | dict, optional): ``torch.compile`` the transformer blocks of the student
            and of the expert's encoder, in place, after the expert is built (``models/utils/compile.py``:
            dynamic shapes, one graph for every view size; the state dict is unchanged). ``True`` or a
            dict of ``torch.compile`` options (``mode``, ``backend``, ``dynamic``, ...). Defaults to None
            (eager): on a GPU it fuses a block's small kernels; on a CPU it mostly adds the first step's
            compilation.
        init_cfg (dict, optional): Initialisation config.

    Raises:
        ValueError: Without objectives, on an objective's unknown option, or when an objective reads an
            expert the algorithm has not.
    """

    def __init__(self,
                 backbone: dict,
                 objectives: Dict[str, Optional[dict]],
                 expert: Optional[dict] = dict(type='CosineEMAExpert'),
                 seed: int = 0,
                 eval_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 compile_encoders: Union[bool, dict, None] = None,
                 init_cfg: Optional[dict] = None) -> None:
        objectives = {name: cfg for name, cfg in objectives.items() if cfg is not None}
        if not objectives:
            raise ValueError('the algorithm needs at least one objective (model.objectives)')
        data_preprocessor = preprocessor_with_objective_options(
            objectives, data_preprocessor or dict(type='SAIPDataPreprocessor'))
        super().__init__(backbone=backbone, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.objectives = ModuleDict(
            {name: MODELS.build(dict(cfg, name=name)) for name, cfg in objectives.items()})
        self.eval_cfg = validate_options('eval_cfg', eval_cfg or {}, EVAL_OPTIONS)
        if 1.0 not in [float(x) for x in self.eval_cfg['scales']]:
            raise ValueError(f"model.eval_cfg.scales must contain 1.0, got {self.eval_cfg['scales']}")
        self.expert = None
        if expert is None:
            readers = [r for o in self.objectives.values() for r in o.expert_readers()]
            readers += ["model.eval_cfg.encoder='expert'"] if self.eval_cfg['encoder'] == 'expert' else []
            if readers:
                raise ValueError(f"model.expert=None, but {', '.join(readers)} read(s) the expert")
        else:
            self.expert = MODELS.build(dict(expert, model=self.student_for_expert()))
        # expert tokens -> decoder width, one map per token level (identity for the EMA expert;
        # learned for an external one: its final-norm and mid-block tokens differ in statistics)
        self.expert_proj = nn.ModuleDict(
            {lvl: self.expert.make_projection() for lvl in LEVELS} if self.expert is not None else {})
        self.seed = seed
        if compile_encoders not in (None, False):  # after the expert's copy (a copy is eager)
            options = {} if compile_encoders is True else dict(compile_encoders)
            for encoder in [self.backbone] + ([self.expert.module['backbone']] if self.expert else []):
                compile_blocks(encoder, options, 'model.compile_encoders')
        add_host_counter(self, 'step')  # optimizer steps taken (saved in checkpoints, read on the host)

    # ---------------------------------------------------------------- expert
    def student_for_expert(self) -> nn.ModuleDict:
        """The student modules that the EMA expert mirrors: the encoder and the objectives' projectors
        (by their mirror names, e.g. ``csm_neck``)."""
        parts = dict(backbone=self.backbone)
        for objective in self.objectives.values():
            parts.update(objective.mirrored())
        return nn.ModuleDict(parts)

    def init_weights(self) -> None:
        """Initialise the student, then start the expert as an exact copy of it.

        The random draws come from their own stream seeded with ``seed``, so the initial weights are a
        function of the config alone (``eval_backbone.py none`` rebuilds the exact initialisation a run
        started from, whatever the runner drew before)."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            super().init_weights()
        if self.expert is not None:
            self.expert.init_from(self.student_for_expert())

    @torch.no_grad()
    def update_expert(self) -> None:
        """One EMA update of the expert from the student (call once per optimizer step; nothing
        without an expert)."""
        if self.expert is not None:
            self.expert.update_parameters(self.student_for_expert())

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        # checkpoints written before the objectives were units name them ``csm_neck.*``, ``sem_head.*``, ...
        for name, objective in self.objectives.items():
            for old, new in objective.LEGACY_NAMES.items():
                for key in [k for k in state_dict if k.startswith(f'{prefix}{old}.')]:
                    rest = key[len(prefix + old):]
                    state_dict[f'{prefix}objectives.{name}.{new}{rest}'] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # ---------------------------------------------------------------- modes
    def extract_feat(self, inputs: Tensor, **kwargs) -> tuple:
        """Backbone features of an image batch (mmpretrain's ``tensor`` mode)."""
        return self.backbone(inputs)

    def forward(self, inputs, data_samples: Optional[list] = None, mode: str = 'tensor'):
        """mmpretrain's ``tensor`` and ``loss`` modes, plus ``predict`` (retrieval features)."""
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        return super().forward(inputs, data_samples, mode)

    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples: list) -> list:
        """Retrieval features of an evaluation batch ``(B, 3, H, W)`` (``eval_cfg``): per sample
        ``pred_feature`` ``(C,)`` (scale 1.0), ``pred_scale_features`` ``(S, C)`` (every scale, in order),
        the metainfo ``eval_scales``; with CSM and an expert also its collapse diagnostics
        (``CSM.diagnostics``) as ``pred_csm_*``."""
        cfg = self.eval_cfg
        encoder = self.backbone if cfg['encoder'] == 'student' else self.expert.module.backbone
        scales = [float(x) for x in cfg['scales']]
        feats = retrieval_features(encoder, inputs, scales, cfg['feature'], level=cfg['level'])
        base = scales.index(1.0)
        csm, diagnostics = csm_of(self.objectives), {}
        if cfg['csm_diagnostics'] and csm is not None and self.expert is not None:
            diagnostics = csm.diagnostics(self.backbone, self.expert.module, self.expert_proj, inputs,
                                          self.step.value)
        for i, (sample, feat) in enumerate(zip(data_samples, feats)):
            sample.set_field(feat[base], 'pred_feature')
            sample.set_field(feat, 'pred_scale_features')
            for key, value in diagnostics.items():
                sample.set_field(value[i], f'pred_{key}')
            sample.set_metainfo(dict(eval_scales=scales))
        return data_samples

    # ---------------------------------------------------------------- loss
    def new_step(self, inputs: Dict[str, object]) -> Step:
        """The step the objectives read: the anchor then the views of the preprocessed batch."""
        return Step(images=[inputs['anchor']] + list(inputs.get('views', [])), inputs=inputs,
                    backbone=self.backbone, expert=None if self.expert is None else self.expert.module,
                    expert_proj=self.expert_proj, index=self.step.value, seed=self.seed)

    def prepare(self, step: Step) -> None:
        """A method's own draws before the objectives' (PersonViT: the masked crops); nothing here."""

    def encoded_step(self, inputs: Dict[str, object]) -> Step:
        """A step prepared by the method and the objectives, with every student view encoded once."""
        step = self.new_step(inputs)
        self.prepare(step)
        for objective in self.objectives.values():
            objective.prepare(step)
        wanted = set()
        for objective in self.objectives.values():
            wanted.update(objective.student_views(len(step.images)))
        step.encode_student(sorted(wanted))
        return step

    def loss(self, inputs: Dict[str, object], data_samples: Optional[list] = None,
             **kwargs) -> Dict[str, Tensor]:
        """Every objective's terms, and the step counter. Nothing is read back on the host: the run's
        finiteness check reads the terms once per logging interval (``DeferredRuntimeInfoHook``).

        Args:
            inputs (dict): From ``SAIPDataPreprocessor``: ``anchor (B,3,H,W)``, optional ``views`` (list
                of ``(B,3,Ht,Wt)``), and what objectives read (``view_masks``, ``mask_counts``,
                ``canvas``, ``canvas_target``, ``part_masks``).
            data_samples (list, optional): Unused.

        Returns:
            dict: ``loss_*`` terms (summed by mmengine) and logged-only scalars.
        """
        step = self.encoded_step(inputs)
        losses: Dict[str, Tensor] = {}
        for objective in self.objectives.values():
            losses.update(objective.loss(step))
        self.step.advance()
        return losses

    @torch.no_grad()
    def objective_outputs(self, inputs: Dict[str, object]) -> Dict[str, tuple]:
        """What the objectives predict for a preprocessed training batch (the visualisation; no loss),
        by objective name, for those that say (``BaseObjective.outputs``)."""
        step = self.encoded_step(inputs)
        outputs = {name: o.outputs(step) for name, o in self.objectives.items()}
        return {name: out for name, out in outputs.items() if out is not None}


def check_dino_plus(method: str, extra: str, csm: Optional[dict], csr: Optional[dict], css: Optional[dict],
                    expert: Optional[dict]) -> None:
    """A method that is DINO (``model.csm`` with an EMA teacher) plus ``model.<extra>`` (PersonViT,
    SOLIDER) has a CSM objective and an expert, and no CSR / CSS (its configs start from the SAIP demo,
    which states them as None).

    Raises:
        ValueError: Naming what is missing or too much.
    """
    if csr is not None or css is not None:
        raise ValueError(f'{method} is DINO (model.csm) plus model.{extra}; csr and css must be None')
    if csm is None or expert is None:
        raise ValueError(f'{method} needs model.csm (the DINO loss) and an EMA expert')


def preprocessor_with_objective_options(objectives: Dict[str, dict], preprocessor: dict) -> dict:
    """The data preprocessor's config with the objectives' ``preprocessor_options`` (CSR's
    ``mask_ratio`` and ``mask_type``: it draws the masks of batch-level views), so that the objective is
    the one setting of each; they reach the preprocessor as arguments when it is built.

    Raises:
        ValueError: When the preprocessor's config sets a different value (refused rather than silently
            winning).
    """
    out = dict(preprocessor)
    for name, cfg in objectives.items():
        cls = MODELS.get(cfg['type'])
        if cls is None:
            raise KeyError(f"model.{name}.type={cfg['type']!r} is not a registered objective")
        for key, value in cls.preprocessor_options(name, cfg).items():
            own = out.get(key)
            if own is not None and own != value:
                raise ValueError(f'model.data_preprocessor.{key}={own} disagrees with model.{name}.{key}='
                                 f'{value}; set model.{name}.{key} only')
            out[key] = value
    return out


__all__: List[str] = ['PretrainAlgorithm', 'check_dino_plus', 'preprocessor_with_objective_options']
