"""Drive the EMA expert: its schedule length and one update per optimizer step."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from saip_mm.registry import HOOKS


def unwrap(model):
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module()
class ExpertEMAHook(Hook):
    """Update the expert after every optimizer step (not every forward: with gradient accumulation
    several forwards make one step) and log its momentum (the expert's own schedule; ``SchedulesHook``
    gives it the run's length).
    """
    priority = 'NORMAL'

    def before_train(self, runner) -> None:
        model = unwrap(runner.model)
        if getattr(model, 'expert', None) is None:
            raise ValueError(f'ExpertEMAHook: {type(model).__name__} has no expert (model.expert=None, '
                             'e.g. MAE); remove the hook from custom_hooks')

    def after_train_iter(self, runner, batch_idx: int, data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        should_update = getattr(runner.optim_wrapper, 'should_update', lambda: True)
        if should_update():
            unwrap(runner.model).update_expert()
        runner.message_hub.update_scalar(
            'train/expert_momentum',
            unwrap(runner.model).expert.momentum_at(int(unwrap(runner.model).expert.steps)))
