"""SOLIDER's semantic supervision (Chen et al., CVPR 2023, §3.2; supplementary §1 and Algorithm 1,
lines 15–17): every patch token of the student is classified into background or one of N parts, with
the labels from the teacher's token clustering (``utils/token_clustering.py``), each image's term
weighted by its λ, so that λ = 0 images learn appearance only."""
from typing import Dict, List

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from saip_mm.registry import MODELS


@MODELS.register_module()
class SemanticTokenHead(BaseModule):
    """A light MLP (``num_blocks`` × Linear–BatchNorm–ReLU; 3 in SOLIDER, whose supplementary shows a
    small head pushes the semantics into the backbone) and a linear classifier over N + 1 classes.

    Args:
        in_channels (int): Token width. Defaults to 192 (ViT-Tiny).
        num_parts (int): N; the classes are background + N parts. Defaults to 3.
        num_blocks (int): MLP blocks before the classifier. Defaults to 3.
        hidden_channels (int): Width of the blocks. Defaults to 256.
        loss_weight (float): ``1 − α`` of SOLIDER's ``L = α L_dino + λ (1 − α) L_sm`` (with DINO's
            weight α set on its head). Defaults to 1.0 (the public code sums both losses unweighted).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self, in_channels: int = 192, num_parts: int = 3, num_blocks: int = 3,
                 hidden_channels: int = 256, loss_weight: float = 1.0, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        layers: List[nn.Module] = []
        width = in_channels
        for _ in range(num_blocks):
            layers += [nn.Linear(width, hidden_channels), nn.BatchNorm1d(hidden_channels),
                       nn.ReLU(inplace=True)]
            width = hidden_channels
        self.mlp = nn.Sequential(*layers)
        self.classifier = nn.Linear(width, num_parts + 1)
        self.num_parts = num_parts
        self.loss_weight = loss_weight
        self.monitor: Dict[str, Tensor] = {}

    def forward(self, tokens: Tensor) -> Tensor:
        """Class logits ``(M, N + 1)`` of tokens ``(M, C)``."""
        return self.classifier(self.mlp(tokens))

    def loss(self, tokens: Tensor, labels: Tensor, weights: Tensor) -> Tensor:
        """The λ-weighted mean token cross-entropy.

        Args:
            tokens (Tensor): Student patch tokens ``(M, C)`` of the labelled images.
            labels (Tensor): Their labels ``(M,)`` in 0..N.
            weights (Tensor): λ of each token's image ``(M,)``.

        Returns:
            Tensor: ``loss_weight · mean(λ · CE)``; sets ``monitor['acc']`` (token accuracy of the
            λ > 0 tokens, logged only).
        """
        logits = self(tokens)
        ce = F.cross_entropy(logits, labels, reduction='none')
        with torch.no_grad():
            on = weights > 0
            hits = (logits.argmax(1) == labels)[on].float()
            self.monitor = {'acc': hits.mean() if len(hits) else logits.new_zeros(())}
        return self.loss_weight * (weights.to(ce.dtype) * ce).mean()


__all__: List[str] = ['SemanticTokenHead']
