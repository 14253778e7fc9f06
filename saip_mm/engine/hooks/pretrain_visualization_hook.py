"""CSR and CSS panels of the current training batch, every N iterations, to the visualizer's backends
(TensorBoard, and PNGs under ``vis_data/vis_image`` with the local backend)."""
from mmengine.hooks import Hook

from saip_mm.registry import HOOKS

from .expert_ema_hook import unwrap


@HOOKS.register_module()
class PretrainVisualizationHook(Hook):
    """Every ``interval`` iterations, draw for the first sample of the batch just trained on:
    ``csr`` (masked view | prediction | target) and ``css`` (canvas with boxes | predicted map per query
    | target map).

    The batch is preprocessed again without the batch-level draws (``training=False``, so the run's
    random streams are not advanced: a run with the hook repeats the losses of a run without it).

    Args:
        interval (int): Iterations between panels. Defaults to 50.
    """
    priority = 'LOW'

    def __init__(self, interval: int = 50) -> None:
        self.interval = interval

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if data_batch is None or not self.every_n_train_iters(runner, self.interval):
            return
        from saip_mm.visualization import objective_panels
        model = unwrap(runner.model)
        was_training = model.training
        model.eval()
        panels = objective_panels(model, model.data_preprocessor(data_batch, False)['inputs'])
        model.train(was_training)
        for name, img in panels.items():
            runner.visualizer.add_image(name, img[..., ::-1], step=runner.iter + 1)
