"""A downstream task for the guide (docs/advanced_guides/add_a_downstream_task.md): person ReID with the
flip test inside the exported graph.

ReID evaluations commonly average a crop's embedding with its mirror image's (TransReID, fast-reid's
``flip`` test). Done in the graph, an edge application gets the flip-averaged embedding from one call.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from saip_mm.deployment.tasks import ReIDTask
from saip_mm.registry import DOWNSTREAM_TASKS


@DOWNSTREAM_TASKS.register_module('reid_flip')
class ReIDFlipTask(ReIDTask):
    """Output contract: ``normalize(f(x) + f(flip(x)))`` ``(N, C)``, where ``f`` is the ReID model's
    embedding (BNNeck feature) and ``flip`` mirrors the crop left to right. Scored like ``reid``
    (Rank-1 / mAP on a Market-1501-layout set)."""
    name = 'reid_flip'
    description = 'L2-normalised mean of the embeddings of the crop and its mirror image (N, C)'

    def raw(self, model: nn.Module, x: Tensor) -> Tensor:
        both = super().raw(model, torch.cat([x, x.flip(-1)]))  # one batch through the model
        crop, mirror = (both[-1] if isinstance(both, (tuple, list)) else both).chunk(2)
        return crop + mirror

    def output(self, raw: Tensor, x: Tensor) -> Tensor:
        return F.normalize(raw, dim=1)
