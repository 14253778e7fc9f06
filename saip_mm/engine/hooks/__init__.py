from .deferred_runtime_info_hook import DeferredRuntimeInfoHook
from .expert_ema_hook import ExpertEMAHook
from .feature_spread_hook import FeatureSpreadHook
from .freeze_last_layer_hook import FreezeLastLayerHook
from .pretrain_visualization_hook import PretrainVisualizationHook
from .progress_bar_hook import ProgressBarHook
from .schedules_hook import SchedulesHook, resolve_schedules
from .skipped_images_hook import SkippedImagesHook
from .teacher_temp_hook import TeacherTempWarmupHook
from .val_before_train_hook import ValBeforeTrainHook

__all__ = [
    'DeferredRuntimeInfoHook', 'ExpertEMAHook', 'FeatureSpreadHook', 'FreezeLastLayerHook',
    'PretrainVisualizationHook', 'ProgressBarHook', 'SchedulesHook', 'SkippedImagesHook',
    'TeacherTempWarmupHook', 'ValBeforeTrainHook', 'resolve_schedules'
]
