"""A toy objective for SAIP: keep the student's global tokens apart (the variance term of VICReg).

The whole objective is this file plus a config beside it
(``saip-variance_vit-tiny-p16_1xb8-100it_demo-persons.py``); the guide
``docs/advanced_guides/add_an_objective.md`` walks through it. ``docs/results.md`` found that the
global features of different people grow alike during short runs (``pair_cos`` rises); this term
penalises every feature dimension whose standard deviation over the batch falls below a target.
"""
from typing import Dict, List

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from saip_mm.models.objectives import BaseObjective, Step
from saip_mm.registry import MODELS


@MODELS.register_module()
class GlobalVarianceHead(BaseModule):
    """Hinge on the per-dimension standard deviation of a batch of tokens.

    Args:
        target_std (float): Dimensions whose std is below this are penalised. Defaults to 1.
        eps (float): Added to the variance before the square root. Defaults to 1e-4.
        loss_weight (float): Weight of the loss. Defaults to 1.
    """

    def __init__(self, target_std: float = 1.0, eps: float = 1e-4, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.target_std, self.eps, self.loss_weight = target_std, eps, loss_weight

    def loss(self, tokens: Tensor) -> Tensor:
        """Args: tokens ``(N, C)``, N ≥ 2. Returns: the scalar loss (0 when every std ≥ target)."""
        std = torch.sqrt(tokens.float().var(dim=0) + self.eps)
        return self.loss_weight * F.relu(self.target_std - std).mean()


@MODELS.register_module()
class GlobalVariance(BaseObjective):
    """``loss_<name>`` on the student's final global tokens of the anchor.

    Args:
        head (dict): ``dict(type='GlobalVarianceHead', ...)``.
        name (str): The objective's key in ``model.objectives``. Defaults to ``'variance'``.
    """
    UNITS = ('head', )

    def __init__(self, head: dict, name: str = 'variance') -> None:
        super().__init__(name, {}, head=head)

    def student_views(self, num_images: int) -> List[int]:
        """The student must encode the anchor (image 0), whatever the other objectives need."""
        return [0]

    def loss(self, step: Step) -> Dict[str, Tensor]:
        global_tokens = step.student[0]['final'][0]  # (B, C)
        return {f'loss_{self.name}': self.head.loss(global_tokens)}
