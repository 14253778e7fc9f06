"""Random patch masking with exact keep counts (CSR, spec §5)."""
from typing import Dict

import numpy as np
from mmcv.transforms import BaseTransform

from saip_mm.registry import TRANSFORMS


def exact_random_mask(num_patches: int, ratio: float) -> np.ndarray:
    """Boolean mask with exactly ``round(ratio * num_patches)`` True (= masked) entries."""
    if not 0 <= ratio < 1:
        raise ValueError(f'mask ratio must be in [0, 1), got {ratio}')
    mask = np.zeros(num_patches, dtype=bool)
    mask[np.random.permutation(num_patches)[:int(round(ratio * num_patches))]] = True
    return mask


@TRANSFORMS.register_module()
class RandomPatchMask(BaseTransform):
    """Draw a patch mask for every view in ``results['views']`` (``view_masks``: list of flat bool
    arrays in row-major token order, True = masked). Every mask of a given view size masks the same
    number of patches, so a batch keeps equal token counts.

    Args:
        ratio (float): Masked fraction. Defaults to 0.75.
        patch_size (int): Patch size. Defaults to 16.
    """

    def __init__(self, ratio: float = 0.75, patch_size: int = 16) -> None:
        self.ratio = ratio
        self.patch_size = patch_size

    def transform(self, results: Dict) -> Dict:
        masks = []
        for view in results['views']:
            h, w = view.shape[:2]
            if h % self.patch_size or w % self.patch_size:
                raise ValueError(f'view of size {h}x{w} is not a multiple of {self.patch_size}')
            masks.append(exact_random_mask((h // self.patch_size) * (w // self.patch_size),
                                           self.ratio))
        results['view_masks'] = masks
        return results
