"""Removed: DINO's last-layer freeze is the projector's own schedule (issue 29 §3: one owner per value)."""
from typing import Optional

from mmengine.hooks import Hook

from saip_mm.registry import HOOKS


@HOOKS.register_module()
class FreezeLastLayerHook(Hook):
    """Removed (issue 29 §3). It set a flag on every prototype projector before each iteration; the freeze
    is now ``CSMProjector(freeze_last_layer=dict(type='FirstSteps', epochs=...))``, read at the
    algorithm's step.

    Raises:
        ValueError: Always, naming the replacement.
    """

    def __init__(self, epochs: int = 1, iters: Optional[int] = None) -> None:
        length = f'iters={iters}' if iters is not None else f'epochs={epochs}'
        raise ValueError(
            'custom_hooks: FreezeLastLayerHook was removed; set the freeze on the projector instead: '
            f"model.csm.neck.freeze_last_layer=dict(type='FirstSteps', {length}) (and on any other "
            "prototype projector, e.g. PersonViT's model.mim.neck)")
