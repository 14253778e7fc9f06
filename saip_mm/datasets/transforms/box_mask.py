"""Box-mask targets for CSS (paper §III-B, eq. 3): visible box of the query instance, down-sampled by area."""
from typing import Dict, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from saip_mm.registry import TRANSFORMS


def area_downsample(mask: np.ndarray, grid: Sequence[int]) -> np.ndarray:
    """Fraction of each grid cell covered by a binary mask; the mask size must divide by the grid."""
    h, w = mask.shape
    rows, cols = int(grid[0]), int(grid[1])
    if h % rows or w % cols:
        raise ValueError(f'mask of size {h}x{w} does not divide into a {rows}x{cols} grid')
    cells = mask.astype(np.float32).reshape(rows, h // rows, cols, w // cols)
    return cells.mean(axis=(1, 3))


@TRANSFORMS.register_module()
class BoxMaskTarget(BaseTransform):
    """Turn ``instance_map`` into the CSS targets of ``query_instances`` on the token grid.

    A target is the fraction of each cell covered by the instance's visible pixels (area
    down-sampling, not nearest sampling, which shifts boxes off the 16-px grid). Added key:
    ``canvas_target``: rows × cols float32 for one query instance, Q × rows × cols for several.

    Args:
        patch_size (int): Token size on the canvas. Defaults to 16 (224 → 14×14).
    """

    def __init__(self, patch_size: int = 16) -> None:
        self.patch_size = patch_size

    def transform(self, results: Dict) -> Dict:
        instance_map = results['instance_map']
        h, w = instance_map.shape
        grid = (h // self.patch_size, w // self.patch_size)
        queries = results.get('query_instances', [0])
        targets = [area_downsample(instance_map == q, grid) for q in queries]
        results['canvas_target'] = targets[0] if len(targets) == 1 else np.stack(targets)
        return results
