"""Pack a pretraining sample (images, lists of views, masks, dense targets) for a data preprocessor."""
from typing import Dict, Sequence

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
class PackPretrainInputs(BaseTransform):
    """Pack whichever of the named keys a sample has into ``inputs`` (a dict of tensors, lists for
    multi-view keys) and the metadata into a ``DataSample``; no key is specific to one algorithm.

    ``inputs['anchor']`` is always present: ``results['anchor']``, else the loaded ``results['img']``,
    so a plain pipeline (load, augment, pack) gives an algorithm its one image.

    Args:
        image_keys (Sequence[str]): HxWxC uint8 images packed as CxHxW. Defaults to ``('canvas',)``.
        view_keys (Sequence[str]): Lists of images (multi-crop / multi-scale views), packed as lists.
            Defaults to ``('views',)``.
        mask_keys (Sequence[str]): Lists of boolean patch masks. Defaults to
            ``('view_masks', 'part_masks')``.
        target_keys (Sequence[str]): Dense float targets (e.g. the CSS map). Defaults to
            ``('canvas_target',)``.
        meta_keys (Sequence[str]): Metadata copied into the data sample when present.
    """

    def __init__(self,
                 image_keys: Sequence[str] = ('canvas', ),
                 view_keys: Sequence[str] = ('views', ),
                 mask_keys: Sequence[str] = ('view_masks', 'part_masks'),
                 target_keys: Sequence[str] = ('canvas_target', ),
                 meta_keys: Sequence[str] = ('img_path', 'instance_boxes', 'view_scales',
                                             'ori_shape')) -> None:
        self.image_keys, self.view_keys = tuple(image_keys), tuple(view_keys)
        self.mask_keys, self.target_keys = tuple(mask_keys), tuple(target_keys)
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: Dict) -> Dict:
        inputs: Dict[str, object] = {'anchor': _chw(results.get('anchor', results['img']))}
        for key in self.image_keys:
            if key in results:
                inputs[key] = _chw(results[key])
        for key in self.view_keys:
            if key in results:
                inputs[key] = [_chw(v) for v in results[key]]
        for key in self.mask_keys:
            if key in results:
                masks = [np.asarray(m, dtype=bool) for m in results[key]]
                inputs[key] = [torch.from_numpy(m) for m in masks]
                # counted here, in the worker: the model gathers kept patches without reading masks back
                inputs.setdefault('mask_counts', {})[key] = [int(np.count_nonzero(m)) for m in masks]
        for key in self.target_keys:
            if key in results:
                inputs[key] = torch.from_numpy(np.asarray(results[key], dtype=np.float32))
        sample = DataSample()
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        return dict(inputs=inputs, data_samples=sample)


@TRANSFORMS.register_module()
class PackSAIPInputs(PackPretrainInputs):
    """``PackPretrainInputs`` with SAIP's keys (anchor, views, canvas, view masks, CSS target): the
    name the SAIP configs use."""
