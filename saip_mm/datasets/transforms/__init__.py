from .assign_views import AssignViews
from .box_mask import BoxMaskTarget, area_downsample
from .copy_paste import CopyPasteCanvas
from .crop_box import CropBox
from .cv2_photometric import CV2ColorJitter, CV2GaussianBlur
from .formatting import PackPretrainInputs, PackSAIPInputs
from .human_parts import HumanPartMask, KeypointRandomResizedCrop
from .multi_scale import MultiScaleResize
from .multi_view import SharedMultiView
from .patch_mask import RandomPatchMask

__all__ = [
    'AssignViews', 'BoxMaskTarget', 'CopyPasteCanvas', 'CropBox', 'CV2ColorJitter', 'CV2GaussianBlur',
    'HumanPartMask',
    'KeypointRandomResizedCrop',
    'MultiScaleResize', 'PackPretrainInputs',
    'PackSAIPInputs', 'RandomPatchMask', 'SharedMultiView', 'area_downsample'
]
