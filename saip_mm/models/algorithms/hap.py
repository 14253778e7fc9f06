"""HAP (Yuan et al., NeurIPS 2023; SAIP Tables I–IV baseline): MAE with part-guided masks + alignment.

One objective (``objectives/part_masked.py``): MAE's reconstruction (``configs/baselines/mae``: CSR
without anchor or expert) of each of two part-masked copies of the image, and the alignment of their
class tokens (weight γ = 0.05).
"""
from typing import List, Optional

from saip_mm.registry import MODELS

from .base import PretrainAlgorithm


@MODELS.register_module()
class HAP(PretrainAlgorithm):
    """MAE on two part-masked views of each image, plus their alignment.

    Args:
        backbone (dict): The student image encoder.
        csr (dict): MAE's reconstruction (``kv='none'``, ``query_encoder='student'``, a decoder with
            ``memory=False``): ``PartMaskedModelling``'s config without its type.
        align (dict): The alignment head, e.g. ``dict(type='InfoNCEAlignHead', temperature=0.2,
            loss_weight=0.05)``.
        csm, css: Must be None (the MAE base config states them).
        **kwargs: ``PretrainAlgorithm``'s (``expert=None``, ``seed``, ``eval_cfg``, ...).
    """

    def __init__(self, backbone: dict, csr: dict, align: dict, csm: Optional[dict] = None,
                 css: Optional[dict] = None, **kwargs) -> None:
        if csm is not None or css is not None:
            raise ValueError("HAP is MAE's CSR (model.csr with kv='none') plus alignment; csm and css "
                             'must be None')
        objective = dict(dict(type='PartMaskedModelling'), align=align, **csr)
        super().__init__(backbone=backbone, objectives=dict(csr=objective), **kwargs)


__all__: List[str] = ['HAP']
