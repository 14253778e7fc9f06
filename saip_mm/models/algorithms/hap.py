"""HAP (Yuan et al., NeurIPS 2023; SAIP Tables I–IV baseline): MAE with part-guided masks + alignment.

A composition of the MAE baseline's units (``configs/baselines/mae``: CSR without anchor or expert) and
one head:

* every image comes with two part-guided masks from its keypoints (``HumanPartMask``, §3.2);
* each masked view is encoded (visible patches) and reconstructed: the MAE loss, averaged over the two
  (eq. 2's L_recon);
* ``InfoNCEAlignHead`` aligns the two views' normalised class tokens (§3.3, eq. 1), weight γ = 0.05.
"""
from typing import Dict, List

from torch import Tensor

from saip_mm.registry import MODELS

from .saip import SAIP


@MODELS.register_module()
class HAP(SAIP):
    """MAE on two part-masked views of each image, plus their alignment.

    Args:
        align (dict): The alignment head, e.g. ``dict(type='InfoNCEAlignHead', temperature=0.2,
            loss_weight=0.05)``.
        **kwargs: As ``SAIP``, with MAE's ``csr`` (``kv='none'``, ``query_encoder='student'``) and no
            ``csm`` / ``css``.
    """

    def __init__(self, align: dict, **kwargs) -> None:
        super().__init__(**kwargs)
        if self.csr_cfg is None or self.csr_cfg['kv'] != 'none' or self.css_cfg or self.csm_cfg:
            raise ValueError("HAP is MAE's CSR (model.csr with kv='none') plus alignment; csm and css "
                             'must be None')
        self.align_head = MODELS.build(align)

    def step_losses(self, inputs: Dict[str, object]) -> Dict[str, Tensor]:
        """``loss_csr`` (the mean reconstruction loss of the masked views) and ``loss_align``.

        Args:
            inputs (dict): ``anchor`` ``(B, 3, H, W)`` and ``part_masks``: a list of bool ``(B, L)``,
                one per masked view (``HumanPartMask``), with ``mask_counts['part_masks']``.

        Raises:
            KeyError: Without ``part_masks`` (the pipeline lacks ``HumanPartMask``).
        """
        if 'part_masks' not in inputs:
            raise KeyError("HAP needs 'part_masks' from the pipeline (HumanPartMask after the crop)")
        image = inputs['anchor']
        masks = [m.to(image.device) for m in inputs['part_masks']]
        counts = inputs.get('mask_counts', {}).get('part_masks') or [None] * len(masks)
        recon, tokens = 0., []
        for mask, count in zip(masks, counts):
            pred, q = self.reconstruct(image, mask, num_masked=count)
            recon = recon + self.csr_head.loss(pred, image, mask)
            tokens.append(q['final'][0])
        losses = dict(loss_csr=recon / len(masks), loss_align=self.align_head.loss(tokens[0], tokens[1]))
        return losses


__all__: List[str] = ['HAP']
