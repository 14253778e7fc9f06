"""CSS, cross-scale search (SAIP eq. 3): each view's tokens find their own instance in a canvas.

The expert encodes the canvas (several persons pasted at other scales); ``CSSDecoder`` lets the
student's tokens of each query view attend to the canvas tokens and predicts a mask on the canvas
grid; ``CSSHead`` owns the mask loss against the instance's box.
"""
from typing import Dict, List

import torch
from torch import Tensor

from saip_mm.registry import MODELS

from .base import BaseObjective, Step


@MODELS.register_module()
class CSS(BaseObjective):
    """Cross-scale search.

    Args:
        neck (dict): ``CSSDecoder``.
        head (dict): ``CSSHead``.
        name (str): The objective's key. Defaults to ``'css'``.
        **options: ``level='mid'``; ``query_views=None``: the images whose student tokens search the
            canvas (None = all views, or the anchor when there are none). A ``(B, Q, rows, cols)``
            target gives each query its own instance.
    """
    OPTIONS = dict(level='mid', query_views=None)
    LEGACY_NAMES = {'css_neck': 'neck', 'css_head': 'head'}

    def __init__(self, neck: dict, head: dict, name: str = 'css', **options) -> None:
        super().__init__(name, options, neck=neck, head=head)

    def student_views(self, num_images: int) -> List[int]:
        views = self.cfg['query_views']
        if views is None:
            return list(range(1, num_images)) or [0]
        return [v % num_images for v in views]

    def expert_readers(self) -> List[str]:
        return [f'model.{self.name} (the canvas encoder)']

    def loss(self, step: Step) -> Dict[str, Tensor]:
        """``loss_<name>``: the query views' masks on the canvas against ``canvas_target``."""
        return {f'loss_{self.name}': self.head.loss(self.forward(step), step.inputs['canvas_target'])}

    def forward(self, step: Step) -> Tensor:
        """Mask logits ``(N_query_views, B, rows, cols)`` on the canvas grid."""
        level = self.cfg['level']
        with torch.no_grad():
            canvas = step.expert.backbone.forward_tokens(step.inputs['canvas'])
        queries = [torch.cat([step.student[i][level][0][:, None], step.student[i][level][1]], dim=1)
                   for i in self.student_views(len(step.images))]
        return self.neck(queries, step.expert_proj[level](canvas[level][1]), canvas['grid'])

    @torch.no_grad()
    def outputs(self, step: Step) -> tuple:
        """What it predicts, for the visualisation: ``(logits, canvas, target)``."""
        return self.forward(step), step.inputs['canvas'], step.inputs['canvas_target']


__all__ = ['CSS']
