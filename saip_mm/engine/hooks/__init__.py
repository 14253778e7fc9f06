from .expert_ema_hook import ExpertEMAHook
from .teacher_temp_hook import TeacherTempWarmupHook

__all__ = ['ExpertEMAHook', 'TeacherTempWarmupHook']
