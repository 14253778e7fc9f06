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
        from saip_mm.visualization import csr_panel, css_panel
        model = unwrap(runner.model)
        was_training = model.training
        model.eval()
        inputs = model.data_preprocessor(data_batch, False)['inputs']
        out = model.objective_outputs(inputs)
        model.train(was_training)
        if 'csr' in out:
            pred, view, mask = out['csr']
            img = csr_panel(pred[0], view[0], mask[0], model.csr_head.patch_size, model.csr_head.norm_pix)
            runner.visualizer.add_image('csr', img[..., ::-1], step=runner.iter + 1)
        if 'css' in out:
            logits, canvas, target = out['css']
            img = css_panel(logits[:, 0], canvas[0], target[0])
            runner.visualizer.add_image('css', img[..., ::-1], step=runner.iter + 1)
