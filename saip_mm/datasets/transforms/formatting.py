"""Pack SAIP inputs for ``SAIPDataPreprocessor``."""
from typing import Dict

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmpretrain.structures import DataSample

from saip_mm.registry import TRANSFORMS


def _chw(img: np.ndarray) -> torch.Tensor:
    if img.ndim == 2:
        img = img[..., None]
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


@TRANSFORMS.register_module()
class PackSAIPInputs(BaseTransform):
    """Pack anchor, views, canvas, view masks and the CSS target into ``inputs`` (a dict of tensors)
    and the per-sample metadata (path, instance boxes, view scales) into a ``DataSample``.

    Args:
        meta_keys (tuple): Metadata copied into the data sample when present.
    """

    def __init__(self, meta_keys=('img_path', 'instance_boxes', 'view_scales', 'ori_shape')) -> None:
        self.meta_keys = meta_keys

    def transform(self, results: Dict) -> Dict:
        inputs: Dict[str, object] = {'anchor': _chw(results.get('anchor', results['img']))}
        if 'views' in results:
            inputs['views'] = [_chw(v) for v in results['views']]
        if 'view_masks' in results:
            inputs['view_masks'] = [torch.from_numpy(np.asarray(m, dtype=bool))
                                    for m in results['view_masks']]
        if 'canvas' in results:
            inputs['canvas'] = _chw(results['canvas'])
        if 'canvas_target' in results:
            inputs['canvas_target'] = torch.from_numpy(results['canvas_target'].astype(np.float32))
        sample = DataSample()
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        return dict(inputs=inputs, data_samples=sample)
