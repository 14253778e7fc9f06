"""SOLIDER (Chen et al., CVPR 2023; SAIP Tables I–IV baseline): DINO with a semantic controller and a
semantic token classification loss.

Two objectives (SOLIDER §3; supplementary, Algorithm 1):

* DINO (``configs/baselines/dino``: CSM on multi-crop views), its student and teacher at each image's λ;
* ``SemanticTokens``: draws λ for the step (every encoding takes it), labels the global crops from the
  teacher at λ = 1 and classifies the student's tokens of them and of part-blanked copies.

The backbone takes λ (``SAIPViT(semantic_weight=...)``, or a StarNet / SAIPTinyViT encoder with it behind
``TokenAdapter``; ``utils/semantic_controller.py``).
"""
from typing import List, Optional

from saip_mm.registry import MODELS

from ..objectives.csm import CSM
from .base import PretrainAlgorithm, check_dino_plus


@MODELS.register_module()
class SOLIDER(PretrainAlgorithm):
    """DINO conditioned on a per-image λ, plus semantic token classification.

    Args:
        backbone (dict): A student with a semantic controller (``SAIPViT`` with ``semantic_weight``, or
            ``TokenAdapter`` around an encoder with it and ``mid='pre_norm'`` for the labels).
        csm (dict): The DINO loss (``CSM``'s config without its type), the global crops as its
            ``teacher_views``.
        semantic (dict): ``SemanticTokens``' config without its type (``head``, ``num_parts``,
            ``min_foreground``, ``level``, ``label_level``, ``lambda_prob``, ``mask_part``); its ``views``
            are CSM's ``teacher_views``.
        csr, css, expert: As ``check_dino_plus`` asks (no CSR / CSS; an EMA teacher).
        **kwargs: ``PretrainAlgorithm``'s (``seed``, ``eval_cfg``, ...).
    """

    def __init__(self, backbone: dict, csm: dict, semantic: dict, csr: Optional[dict] = None,
                 css: Optional[dict] = None, expert: Optional[dict] = dict(type='CosineEMAExpert'),
                 **kwargs) -> None:
        check_dino_plus('SOLIDER', 'semantic', csm, csr, css, expert)
        if 'head' not in semantic:
            raise ValueError('model.semantic needs a head (SemanticTokenHead)')
        objectives = dict(csm=dict(dict(type='CSM'), **csm),
                          semantic=dict(dict(type='SemanticTokens'), **semantic,
                                        views=csm.get('teacher_views', CSM.OPTIONS['teacher_views'])))
        super().__init__(backbone=backbone, objectives=objectives, expert=expert, **kwargs)
        if self.backbone.semantic_controller is None:  # SAIPViT and TokenAdapter both state it
            raise ValueError(f'SOLIDER conditions the backbone on lambda; {type(self.backbone).__name__} '
                             'has no semantic controller (use SAIPViT with semantic_weight=<default lambda>, '
                             'or a TokenAdapter whose StarNet / SAIPTinyViT encoder has one)')


__all__: List[str] = ['SOLIDER']
