"""The former τt warm-up hook, kept only to refuse old configs with a pointer to the new setting."""
from mmengine.hooks import Hook

from saip_mm.registry import HOOKS


@HOOKS.register_module()
class TeacherTempWarmupHook(Hook):
    """Removed (issue 29 §3: the head owns τt). It overwrote ``CSMHead(teacher_temp=...)`` every iteration;
    the warm-up is now the head's own schedule.

    Raises:
        ValueError: Always, naming the replacement.
    """

    def __init__(self, start: float = 0.04, end: float = 0.07, warmup_iters: int = 1000,
                 warmup_epochs=None) -> None:
        length = f'warmup_epochs={warmup_epochs}' if warmup_epochs is not None else \
            f'warmup_iters={warmup_iters}'
        raise ValueError(
            'custom_hooks: TeacherTempWarmupHook was removed; set the warm-up on the head instead: '
            f"model.csm.head.teacher_temp=dict(type='LinearWarmup', start={start}, end={end}, {length})")
