"""A validation loop over several sets, each with its own evaluator, reported together."""
from typing import Dict, Sequence, Union

from mmengine.runner import ValLoop

from saip_mm.registry import LOOPS


@LOOPS.register_module()
class MultiSetValLoop(ValLoop):
    """mmengine's ``ValLoop`` on ``val_dataloader`` / ``val_evaluator``, then on each of ``extra_sets``;
    the metrics of all sets go to the hooks (logging, ``save_best``) as one dict.

        val_cfg = dict(type='MultiSetValLoop', extra_sets=[
            dict(dataloader=dict(...), evaluator=dict(type='CrossScalePersonMetric'))])

    Args:
        runner: The runner.
        dataloader: The main set (``val_dataloader``).
        evaluator: Its evaluator (``val_evaluator``).
        fp16 (bool): Autocast, as ``ValLoop``. Defaults to False.
        extra_sets (Sequence[dict]): ``dict(dataloader=..., evaluator=...)`` per further set. Their metric
            names must not repeat the main set's (each metric has its own prefix).
    """

    def __init__(self, runner, dataloader: Union[dict, object], evaluator: Union[dict, list, object],
                 fp16: bool = False, extra_sets: Sequence[dict] = ()) -> None:
        super().__init__(runner, dataloader, evaluator, fp16)
        self.extra_sets = []
        for i, extra in enumerate(extra_sets):
            if set(extra) != {'dataloader', 'evaluator'}:
                raise ValueError(f'val_cfg.extra_sets.{i} needs exactly "dataloader" and "evaluator", got '
                                 f'{sorted(extra)}')
            loader = runner.build_dataloader(extra['dataloader'], seed=runner.seed)
            evaluator_obj = runner.build_evaluator(extra['evaluator'])
            evaluator_obj.dataset_meta = getattr(loader.dataset, 'metainfo', None)
            self.extra_sets.append((loader, evaluator_obj))

    def run(self) -> Dict[str, float]:
        self.runner.call_hook('before_val')
        self.runner.call_hook('before_val_epoch')
        self.runner.model.eval()
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
        metrics = dict(self.evaluator.evaluate(len(self.dataloader.dataset)))
        for loader, evaluator in self.extra_sets:
            for data_batch in loader:
                outputs = self.runner.model.val_step(data_batch)
                evaluator.process(data_samples=outputs, data_batch=data_batch)
            extra = evaluator.evaluate(len(loader.dataset))
            clash = sorted(set(extra) & set(metrics))
            if clash:
                raise ValueError(f'val_cfg.extra_sets: metric names {clash} repeat the main set\'s')
            metrics.update(extra)
        self.runner.call_hook('after_val_epoch', metrics=metrics)
        self.runner.call_hook('after_val')
        return metrics
