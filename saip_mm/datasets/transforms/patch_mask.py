"""Random patch masking with exact keep counts (CSR, paper §III-B, eq. 2)."""
from typing import Dict, Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from saip_mm.models.utils.masking import numpy_patch_mask, upsample_mask
from saip_mm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomPatchMask(BaseTransform):
    """Draw a patch mask for every view in ``results['views']`` (``view_masks``: list of flat bool
    arrays in row-major token order, True = masked).

    By default every mask of a given view size masks the same number of patches, so a batch keeps
    equal token counts and the encoder can drop the masked ones. With ``draw_grid`` the mask is drawn
    on that grid (the authors' code: the anchor's 16×8) and nearest-upsampled to the view's grid (20×10
    for a ×1.25 view); the count then varies from image to image, so the masked view must be
    encoded whole (``model.csr.encode_masked='all'``).

    With ``views``, only those views are drawn (e.g. the one CSR reconstructs); the others get a mask
    with nothing masked, so that ``view_masks[i]`` stays the mask of view ``i``.

    Args:
        ratio (float): Masked fraction. Defaults to 0.75.
        patch_size (int): Patch size. Defaults to 16.
        draw_grid (tuple, optional): (rows, cols) to draw the mask on. Defaults to the view's grid.
        views (Sequence[int], optional): Indices of the views to mask (negative ones count from the
            end). Defaults to all.
    """

    def __init__(self, ratio: float = 0.75, patch_size: int = 16,
                 draw_grid: Optional[Sequence[int]] = None, views: Optional[Sequence[int]] = None) -> None:
        self.ratio = ratio
        self.patch_size = patch_size
        self.draw_grid = tuple(draw_grid) if draw_grid else None
        self.views = tuple(int(v) for v in views) if views is not None else None

    def _drawn(self, num_views: int) -> set:
        if self.views is None:
            return set(range(num_views))
        wrong = [v for v in self.views if not -num_views <= v < num_views]
        if wrong:
            raise ValueError(f'RandomPatchMask.views {list(self.views)}: {wrong} out of range for '
                             f'{num_views} views')
        return {v % num_views for v in self.views}

    def transform(self, results: Dict) -> Dict:
        masks = []
        drawn = self._drawn(len(results['views']))
        for i, view in enumerate(results['views']):
            h, w = view.shape[:2]
            if h % self.patch_size or w % self.patch_size:
                raise ValueError(f'view of size {h}x{w} is not a multiple of {self.patch_size}')
            grid = (h // self.patch_size, w // self.patch_size)
            if i not in drawn:
                masks.append(np.zeros(grid[0] * grid[1], dtype=bool))
            elif self.draw_grid is None:
                masks.append(numpy_patch_mask(grid[0] * grid[1], self.ratio))
            else:
                masks.append(upsample_mask(numpy_patch_mask(self.draw_grid[0] * self.draw_grid[1],
                                                             self.ratio), self.draw_grid, grid))
        results['view_masks'] = masks
        return results
