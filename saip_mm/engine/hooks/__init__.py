from .expert_ema_hook import ExpertEMAHook
from .freeze_last_layer_hook import FreezeLastLayerHook
from .progress_bar_hook import ProgressBarHook
from .skipped_images_hook import SkippedImagesHook
from .teacher_temp_hook import TeacherTempWarmupHook

__all__ = [
    'ExpertEMAHook', 'FreezeLastLayerHook', 'ProgressBarHook', 'SkippedImagesHook', 'TeacherTempWarmupHook'
]
