"""Log how alike the student's features of different people are while it trains (issue 26 §4)."""
import glob
import os.path as osp
from typing import Optional, Sequence

import mmcv
import numpy as np
import torch
from mmengine.hooks import Hook

from saip_mm.registry import HOOKS

from ...models.utils.retrieval import mean_pairwise_cosine, retrieval_features


@HOOKS.register_module()
class FeatureSpreadHook(Hook):
    """Before training and every ``interval`` iterations, the mean pairwise cosine of the student
    encoder's retrieval features (the model's ``eval_cfg``: feature and level) of a fixed set of person
    crops: ``train/feature_pair_cos``, in the training log beside the losses.

    Towards 1, every image maps to one point. It reads the encoder, not an objective's head, so it
    means the same for every method (MAE included, which has no collapse diagnostic of its own), and it
    moves from the first iteration: the learning-rate probe of docs/results.md (``lr_probe.py``) reads
    it per iteration. The crops are encoded in eval mode without gradients; the model returns to train
    mode.

    Args:
        image_dir (str): A folder of person crops (``*.jpg`` / ``*.png``, read sorted; at least two).
        num_images (int): The first this many crops. Defaults to 32.
        size (Sequence[int]): ``(H, W)`` each crop is resized to (bicubic). Defaults to (256, 128).
        interval (int): Iterations between readings. Defaults to 1.
    """
    priority = 'NORMAL'  # before LoggerHook (BELOW_NORMAL): the logged value is this iteration's

    def __init__(self, image_dir: str, num_images: int = 32, size: Sequence[int] = (256, 128),
                 interval: int = 1) -> None:
        files = sorted(f for ext in ('jpg', 'png') for f in glob.glob(osp.join(image_dir, f'*.{ext}')))
        if len(files) < 2:
            raise FileNotFoundError(f'FeatureSpreadHook: image_dir {image_dir!r} has {len(files)} crop(s) '
                                    '(*.jpg, *.png); the pairwise cosine needs at least 2')
        height, width = size
        # (N, 3, H, W) uint8 BGR, as the packed images a data preprocessor normalises
        imgs = []
        for f in files[:num_images]:
            img = mmcv.imread(f)
            if img is None:
                raise ValueError(f'FeatureSpreadHook: {f} is not a readable image')
            imgs.append(mmcv.imresize(img, (width, height), interpolation='bicubic'))
        self.images = torch.from_numpy(np.stack(imgs).transpose(0, 3, 1, 2).copy())
        self.interval = interval

    def value(self, model) -> float:
        """The mean pairwise cosine of ``model``'s student features of the crops."""
        was_training = model.training
        model.eval()
        cfg = model.eval_cfg
        x = model.data_preprocessor.normalize(self.images)
        try:
            feats = retrieval_features(model.backbone, x, (1.0, ), cfg['feature'], level=cfg['level'])
        finally:
            model.train(was_training)
        return float(mean_pairwise_cosine(feats[:, 0]))

    def before_train(self, runner) -> None:
        runner.message_hub.update_scalar('train/feature_pair_cos', self.value(self._model(runner)))

    def after_train_iter(self, runner, batch_idx: int, data_batch: Optional[dict] = None,
                         outputs=None) -> None:
        if self.every_n_train_iters(runner, self.interval):
            runner.message_hub.update_scalar('train/feature_pair_cos', self.value(self._model(runner)))

    @staticmethod
    def _model(runner):
        model = runner.model
        return getattr(model, 'module', model)  # a distributed wrapper's model
