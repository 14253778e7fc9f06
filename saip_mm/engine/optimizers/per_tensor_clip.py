"""DINO's gradient clipping: each parameter tensor's gradient norm is clipped on its own.

mmengine's ``clip_grad=dict(max_norm=3.0)`` clips the *global* norm over every parameter, so one large
gradient (a decoder's, say) shrinks all the others. DINO (``utils.clip_gradients``), whose settings the
SAIP paper adopts, clips each tensor to ``max_norm`` separately. These wrappers take
``clip_grad=dict(type='per_tensor', max_norm=3.0)``; ``type='norm'`` / ``'value'`` behave as in mmengine.
``train/grad_norm`` logs the global norm before clipping in both cases, so runs stay comparable; the
wrappers keep it on the device (``take_grad_norm``) for ``DeferredRuntimeInfoHook`` to log with the
step's other scalars, where mmengine's wrapper reads it every step (``float(grad_norm)``).

    optim_wrapper = dict(type='PerTensorClipOptimWrapper', optimizer=..., clip_grad=dict(type='per_tensor',
                         max_norm=3.0))   # 'PerTensorClipAmpOptimWrapper' with AMP
"""
from typing import Iterable, Optional

import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from torch import Tensor

from saip_mm.registry import OPTIM_WRAPPERS


@torch.no_grad()
def clip_grad_norm_per_tensor_(parameters: Iterable[Tensor], max_norm: float,
                               norm_type: float = 2.0) -> Tensor:
    """Scale each gradient whose own norm exceeds ``max_norm`` down to ``max_norm`` (DINO's rule:
    ``grad *= max_norm / (norm + 1e-6)`` where that factor is below 1).

    Args:
        parameters: Tensors with ``.grad``.
        max_norm (float): The largest norm a single tensor's gradient may keep.
        norm_type (float): The norm's order. Defaults to 2.

    Returns:
        Tensor: The global norm of all gradients before clipping (what ``clip_grad_norm_`` returns).
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.)
    norms = torch.stack(torch._foreach_norm(grads, norm_type))  # multi-tensor kernels on a GPU
    total = torch.linalg.vector_norm(norms, norm_type)
    factors = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    torch._foreach_mul_(grads, [f.to(g.dtype) for g, f in zip(grads, factors.unbind())])
    return total


class PerTensorClip:
    """The ``clip_grad=dict(type='per_tensor', ...)`` option for an mmengine optimizer wrapper."""

    def __init__(self, *args, clip_grad: Optional[dict] = None, **kwargs) -> None:
        per_tensor = clip_grad is not None and clip_grad.get('type') == 'per_tensor'
        if per_tensor:
            clip_grad = {k: v for k, v in clip_grad.items() if k != 'type'}
            unknown = set(clip_grad) - {'max_norm', 'norm_type'}
            if 'max_norm' not in clip_grad or unknown:
                raise ValueError(f"optim_wrapper.clip_grad with type='per_tensor' takes max_norm (and "
                                 f"norm_type), got {sorted(clip_grad)}")
        super().__init__(*args, clip_grad=clip_grad, **kwargs)
        if per_tensor:
            self.clip_func = clip_grad_norm_per_tensor_
        self.grad_norm: Optional[Tensor] = None

    def _clip_grad(self) -> None:
        """Clip as configured and keep the global norm before clipping as ``grad_norm``, unread."""
        params = [p for group in self.optimizer.param_groups for p in group['params']
                  if p.requires_grad and p.grad is not None]
        if params:
            norm = self.clip_func(params, **self.clip_grad_kwargs)
            if norm is not None:  # clip_grad_value_ gives none
                self.grad_norm = norm.detach()

    def take_grad_norm(self) -> Optional[Tensor]:
        """The global gradient norm of the steps since the last call (the last one's), or None when no
        step clipped since: a device tensor, for ``DeferredRuntimeInfoHook`` to read with the rest."""
        norm, self.grad_norm = self.grad_norm, None
        return norm


@OPTIM_WRAPPERS.register_module()
class PerTensorClipOptimWrapper(PerTensorClip, OptimWrapper):
    """mmengine's ``OptimWrapper`` with DINO's per-tensor clipping as an option (module docstring)."""


@OPTIM_WRAPPERS.register_module()
class PerTensorClipAmpOptimWrapper(PerTensorClip, AmpOptimWrapper):
    """mmengine's ``AmpOptimWrapper`` with DINO's per-tensor clipping (gradients unscaled first)."""


__all__ = ['PerTensorClipAmpOptimWrapper', 'PerTensorClipOptimWrapper',
           'clip_grad_norm_per_tensor_']
