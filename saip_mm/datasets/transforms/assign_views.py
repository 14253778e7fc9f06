"""Name the outputs of ``mmpretrain.MultiView`` as SAIP's anchor and views."""
from typing import Dict

import numpy as np
from mmcv.transforms import BaseTransform

from saip_mm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class AssignViews(BaseTransform):
    """After ``MultiView`` (``results['img']`` is a list of crops), the first crop becomes the anchor
    (also kept as ``img`` for the copy-paste canvas) and the others become ``views``, in order.

    Added keys: ``anchor``, ``views``, ``view_scales`` (view height / anchor height).
    """

    def transform(self, results: Dict) -> Dict:
        crops = results['img']
        if not isinstance(crops, (list, tuple)) or len(crops) < 2:
            raise ValueError('AssignViews expects a list of at least 2 crops from MultiView')
        anchor, views = crops[0], list(crops[1:])
        results['img'] = anchor
        results['img_shape'] = anchor.shape[:2]
        results['anchor'] = anchor
        results['views'] = views
        results['view_scales'] = np.array([v.shape[0] / anchor.shape[0] for v in views], np.float32)
        return results
