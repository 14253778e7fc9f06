"""EMA expert encoder with a cosine momentum schedule over *global* iterations (paper §III-A, appendix A)."""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model import BaseAveragedModel
from torch import Tensor

from saip_mm.registry import MODELS

from .host_counter import add_host_counter
from .schedules import CosineRamp


@MODELS.register_module()
class CosineEMAExpert(BaseAveragedModel):
    """Exponential moving average of the student with momentum rising from ``momentum`` to
    ``end_momentum`` along a half cosine over ``iters`` updates (``CosineRamp``, by default over the
    whole run).

    ``expert = m · expert + (1 - m) · student``, with ``m(k) = end - (end - start)·(cos(πk/K) + 1)/2``
    for update ``k`` (0-based, counted by ``steps``, a host counter saved in checkpoints, so the
    schedule continues after a resume). The authors' code indexed the schedule by the iteration within
    the epoch, which keeps ``m`` at its start value; here ``k`` is global.

    Args:
        model (nn.Module): The student modules to average (deep-copied, frozen).
        momentum (float): Momentum at the first update. Defaults to 0.996.
        end_momentum (float): Momentum at ``iters``. Defaults to 1.
        iters (int, optional): Length of the schedule in updates; ``None`` (default): the run's optimizer
            steps, which ``SchedulesHook`` gives the schedule before training (the only value a hook
            sets; a run without it is refused at the first update).
    """

    def __init__(self,
                 model: nn.Module,
                 momentum: float = 0.996,
                 end_momentum: float = 1.0,
                 iters: Optional[int] = None,
                 device: Optional[torch.device] = None) -> None:
        super().__init__(model, interval=1, device=device, update_buffers=True)
        del self.steps  # mmengine's tensor buffer: a host counter instead (schedule reads, no device sync)
        add_host_counter(self, 'steps')
        self.momentum = CosineRamp(momentum, end_momentum, iters)

    def momentum_at(self, step: int) -> float:
        """The momentum ``m`` of update number ``step``."""
        return self.momentum.value_at(step)

    def avg_func(self, averaged_param: Tensor, source_param: Tensor, steps: int) -> None:
        """One tensor's EMA step (mmengine's interface); ``update_parameters`` makes the same step for
        all tensors at once."""
        momentum = self.momentum_at(int(steps))
        averaged_param.mul_(momentum).add_(source_param, alpha=1 - momentum)

    def init_from(self, model: nn.Module) -> None:
        """Start as an exact copy of the (initialised) student parts ``model``."""
        self.module.load_state_dict(model.state_dict())

    def make_projection(self) -> nn.Module:
        """Map from the expert's token width to the decoders' width: none for a copy of the student."""
        return nn.Identity()

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        """EMA step from ``model`` (same structure as the averaged module).

        Unlike mmengine's default, the first update is an EMA step too: the expert starts as a copy of
        the initialised student (``PretrainAlgorithm.init_weights``), not of the student after its first step.
        """
        source = model.state_dict()
        averaged, sources = [], []
        for key, avg in self.avg_parameters.items():
            src = source[key].data.to(avg.device)
            if avg.dtype.is_floating_point:
                averaged.append(avg.data)
                sources.append(src)
            else:
                avg.data.copy_(src)
        # avg_func's update for all tensors at once: a few multi-tensor kernels on a GPU, not two a tensor
        momentum = self.momentum_at(self.steps.value)
        torch._foreach_mul_(averaged, momentum)
        torch._foreach_add_(averaged, sources, alpha=1 - momentum)
        self.steps.advance()
