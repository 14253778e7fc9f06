"""Cut a box out of an image at a fixed size (the image's edge padded with black)."""
from typing import Dict, Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from saip_mm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class CropBox(BaseTransform):
    """Warp ``results['crop_box']`` (``[x1, y1, x2, y2]``, may reach beyond the image) to ``scale``
    ``(W, H)``, bilinearly; modifies ``img``, ``img_shape``.

    Args:
        scale (Sequence[int]): ``(width, height)`` of the crop, as mmcv's ``Resize``. Defaults to
            ``(128, 256)``.
    """

    def __init__(self, scale: Sequence[int] = (128, 256)) -> None:
        self.scale = tuple(int(s) for s in scale)

    def transform(self, results: Dict) -> Dict:
        x1, y1, x2, y2 = [float(v) for v in results['crop_box']]
        w, h = self.scale
        sx, sy = w / (x2 - x1), h / (y2 - y1)
        warp = np.array([[sx, 0, -x1 * sx], [0, sy, -y1 * sy]], np.float32)
        results['img'] = cv2.warpAffine(results['img'], warp, (w, h), flags=cv2.INTER_LINEAR,
                                        borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        results['img_shape'] = (h, w)
        return results
