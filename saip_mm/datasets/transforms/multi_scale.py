"""Multi-resolution views of the anchor (paper §III-B: scales 0.75–1.5 of the anchor size)."""
from typing import Dict, Optional, Sequence

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from saip_mm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class MultiScaleResize(BaseTransform):
    """Resize the anchor (``results['img']``, already at the anchor size) into one view per scale.

    Views in a batch are stacked per slot, so each slot has one fixed scale; the default set is the
    authors' code's ``(0.75, 0.875, 1.125, 1.25)``. For scales drawn from a continuous range per batch
    use ``SAIPDataPreprocessor(view_scale_range=...)``. Sides are rounded to multiples of
    ``size_divisor`` so that every view patchifies exactly.

    Added keys: ``anchor`` (the anchor image) and ``views`` (list of H_t×W_t×3 images).

    Args:
        scales (Sequence[float]): One scale per view.
        size_divisor (int): Sides become multiples of this. Defaults to 16.
        nearest_views (Sequence[int]): Indices (among the new views) resized with nearest
            interpolation (the code does this for two views); the others use bicubic.
        src_view (int, optional): Resize ``results['views'][src_view]`` instead of the anchor.
        append (bool): Append the new views to ``results['views']`` instead of replacing them.
        replace (bool): With ``src_view`` and one scale, put the new view in place of view
            ``src_view`` (the other views are kept).
    """

    def __init__(self,
                 scales: Sequence[float] = (0.75, 0.875, 1.125, 1.25),
                 size_divisor: int = 16,
                 nearest_views: Optional[Sequence[int]] = None,
                 src_view: Optional[int] = None,
                 append: bool = False,
                 replace: bool = False) -> None:
        if not scales or any(s <= 0 for s in scales):
            raise ValueError(f'scales must be positive, got {scales}')
        if replace and (src_view is None or len(scales) != 1 or append):
            raise ValueError('replace=True needs src_view, exactly one scale and append=False')
        self.replace = replace
        self.scales = tuple(float(s) for s in scales)
        self.size_divisor = size_divisor
        self.nearest_views = set(nearest_views or ())
        self.src_view = src_view
        self.append = append

    def view_size(self, h: int, w: int, scale: float):
        d = self.size_divisor
        return (max(d, int(round(h * scale / d)) * d), max(d, int(round(w * scale / d)) * d))

    def transform(self, results: Dict) -> Dict:
        anchor = results.get('anchor', results['img'])
        img = anchor if self.src_view is None else results['views'][self.src_view]
        h, w = img.shape[:2]
        views = []
        for t, s in enumerate(self.scales):
            vh, vw = self.view_size(h, w, s)
            interp = 'nearest' if t in self.nearest_views else 'bicubic'
            views.append(mmcv.imresize(img, (vw, vh), interpolation=interp))
        scales = np.array(self.scales, dtype=np.float32)
        if self.replace:
            old_scales = results.get('view_scales', np.ones(len(results['views']), np.float32))
            views_all, scales_all = list(results['views']), np.array(old_scales, np.float32)
            views_all[self.src_view] = views[0]
            scales_all[self.src_view] = views[0].shape[0] / anchor.shape[0]
            views, scales = views_all, scales_all
        elif self.append and 'views' in results:
            views = list(results['views']) + views
            old = results.get('view_scales', np.ones(len(results['views']), np.float32))
            scales = np.concatenate([old, scales])
        results['anchor'] = anchor
        results['views'] = views
        results['view_scales'] = scales
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(scales={self.scales})'
