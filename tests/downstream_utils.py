"""Checks shared by the downstream tests."""
from typing import Callable, Dict, List, Optional, Sequence

import torch
from mmengine.dataset import pseudo_collate

RESIZED = ('cls_token', 'pos_embed')  # a headless model drops the first; the second is re-gridded


def assert_backbone_equals(backbone: torch.nn.Module, source: Dict[str, torch.Tensor],
                           skip: Sequence[str] = ()) -> None:
    """Every tensor of ``source`` (an exported backbone) except ``skip`` is in ``backbone``, unchanged."""
    state = backbone.state_dict()
    for key, value in source.items():
        if key not in skip:
            assert torch.equal(state[key], value), key


def repeated_batch_losses(runner, num_samples: int, steps: int, lr: Optional[float] = None,
                          loss: Callable[[dict], torch.Tensor] = lambda log: log['loss']) -> List[float]:
    """Train ``steps`` steps on one batch of the first ``num_samples`` training samples with the config's
    optimizer (at ``lr`` if given); the per-step values of ``loss(log)``."""
    cfg = runner.cfg.optim_wrapper
    if lr is not None:
        cfg = dict(cfg, optimizer=dict(cfg.optimizer, lr=lr))
    optim = runner.build_optim_wrapper(cfg)
    batch = pseudo_collate([runner.train_dataloader.dataset[i] for i in range(num_samples)])
    return [float(loss(runner.model.train_step(batch, optim))) for _ in range(steps)]
