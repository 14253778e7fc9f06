from .assign_views import AssignViews
from .box_mask import BoxMaskTarget, area_downsample
from .copy_paste import CopyPasteCanvas
from .crop_box import CropBox
from .formatting import PackPretrainInputs, PackSAIPInputs
from .human_parts import HumanPartMask, KeypointRandomResizedCrop
from .multi_scale import MultiScaleResize
from .multi_view import SharedMultiView
from .patch_mask import RandomPatchMask

__all__ = [
    'AssignViews', 'BoxMaskTarget', 'CopyPasteCanvas', 'CropBox', 'HumanPartMask',
    'KeypointRandomResizedCrop',
    'MultiScaleResize', 'PackPretrainInputs',
    'PackSAIPInputs', 'RandomPatchMask', 'SharedMultiView', 'area_downsample'
]
