"""Linear warm-up of the CSM expert temperature τt (DINO)."""
from typing import Optional

from mmengine.hooks import Hook

from saip_mm.registry import HOOKS

from .expert_ema_hook import unwrap


@HOOKS.register_module()
class TeacherTempWarmupHook(Hook):
    """Raise τt of every distillation head linearly from ``start`` to ``end`` over the warm-up, then
    keep ``end``.

    Args:
        start (float): τt at iteration 0. Defaults to 0.04.
        end (float): τt after warm-up. Defaults to 0.07.
        warmup_iters (int): Warm-up length in iterations. Defaults to 1000.
        warmup_epochs (int, optional): Warm-up length in epochs instead (DINO: 30), converted with the
            train loader's length when training starts.
    """

    def __init__(self, start: float = 0.04, end: float = 0.07, warmup_iters: int = 1000,
                 warmup_epochs: Optional[int] = None) -> None:
        self.start, self.end, self.warmup_iters = start, end, warmup_iters
        self.warmup_epochs = warmup_epochs

    def before_train(self, runner) -> None:
        if self.warmup_epochs is not None:
            self.warmup_iters = self.warmup_epochs * len(runner.train_dataloader)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        progress = min(runner.iter / max(self.warmup_iters, 1), 1.0)
        for head in distillation_heads(unwrap(runner.model)):
            head.teacher_temp = self.start + (self.end - self.start) * progress


def distillation_heads(model) -> list:
    """The algorithm's centred, sharpened distillation heads: CSM's, and a patch-level one such as
    PersonViT's (iBOT warms both teacher temperatures up alike)."""
    from saip_mm.models.heads.csm_head import CSMHead
    return [m for m in model.modules() if isinstance(m, CSMHead)]
