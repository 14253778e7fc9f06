"""HAP's objective (Yuan et al., NeurIPS 2023): masked reconstruction under part-guided masks, plus the
alignment of the two masked views.

Every image comes with two part-guided masks from its keypoints (``HumanPartMask`` in the pipeline,
§3.2). Each masked view is encoded (visible patches) and reconstructed, the MAE loss averaged over the
two (eq. 2's L_recon); ``InfoNCEAlignHead`` aligns the two views' class tokens (§3.3, eq. 1).
"""
from typing import Dict, List

from torch import Tensor

from saip_mm.registry import MODELS

from .base import Step
from .csr import CSR
from .reconstruction import reconstruct


@MODELS.register_module()
class PartMaskedModelling(CSR):
    """Reconstruction of the part-masked anchor and alignment of its two masked views.

    Args:
        neck (dict): ``CSRDecoder`` without key/value inputs (``memory=False``: MAE's decoder).
        head (dict): ``CSRHead``.
        align (dict): The alignment head, e.g. ``dict(type='InfoNCEAlignHead', temperature=0.2,
            loss_weight=0.05)`` (its term is ``loss_align``).
        name (str): The objective's key. Defaults to ``'csr'`` (its term is ``loss_<name>``).
        **options: CSR's, with ``kv='none'`` (no anchor: the masked view is the anchor itself).
    """
    UNITS = ('neck', 'head', 'align')
    LEGACY_NAMES = {'csr_neck': 'neck', 'csr_head': 'head', 'align_head': 'align'}

    def __init__(self, neck: dict, head: dict, align: dict, name: str = 'csr', **options) -> None:
        super().__init__(neck, head, name, **options)
        if self.cfg['kv'] != 'none':
            raise ValueError(f"model.{name}: HAP reconstructs the part-masked image from itself; set "
                             "kv='none' (and neck.memory=False)")
        self.align = MODELS.build(align)

    def loss(self, step: Step) -> Dict[str, Tensor]:
        """``loss_<name>`` (the mean reconstruction loss of the masked views) and ``loss_align``.

        ``step.inputs`` holds ``part_masks``: a list of bool ``(B, L)``, one per masked view, with
        ``mask_counts['part_masks']``.

        Raises:
            KeyError: Without ``part_masks`` (the pipeline lacks ``HumanPartMask``).
        """
        if 'part_masks' not in step.inputs:
            raise KeyError("HAP needs 'part_masks' from the pipeline (HumanPartMask after the crop)")
        image = step.images[0]
        masks = [m.to(image.device) for m in step.inputs['part_masks']]
        counts = step.inputs.get('mask_counts', {}).get('part_masks') or [None] * len(masks)
        recon, tokens = 0., []
        for mask, count in zip(masks, counts):
            pred, q = reconstruct(self.neck, self.head.patch_size, self.cfg, step, image, mask,
                                  num_masked=count)
            recon = recon + self.head.loss(pred, image, mask)
            tokens.append(q['final'][0])
        return {f'loss_{self.name}': recon / len(masks), 'loss_align': self.align.loss(tokens[0], tokens[1])}


__all__: List[str] = ['PartMaskedModelling']
