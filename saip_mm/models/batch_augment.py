# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""DINO's photometric augmentation of one view, drawn per sample and applied to the batch on the model's
device (issue 28 §2). ``SAIPDataPreprocessor(photometric=...)`` holds one per image it augments.

Why not kornia or torchvision's v2 transforms: torchvision's tensor functions take one parameter per call
(one colour jitter for the whole batch), and kornia's ``ColorJitter`` draws one order of the four
operations per batch and blurs with other kernel rules; the CPU pipeline these replace draws every
parameter, and the order, per image. Reproducing its distribution exactly is ~100 lines of torch
(``models/utils/photometric.py``), with no new dependency.
"""
from typing import Dict, Optional, Sequence, Tuple

import torch
from torch import Tensor

from saip_mm.registry import MODELS

from .utils import photometric as P
from .utils.randomness import host_groups


def _factor_range(amount: float, name: str) -> Tuple[float, float]:
    if amount < 0:
        raise ValueError(f'{name} must be >= 0, got {amount}')
    return max(0.0, 1.0 - amount), 1.0 + amount


@MODELS.register_module()
class BatchPhotometricAugment:
    """Colour jitter (random order of brightness, contrast, saturation, hue), grayscale, Gaussian blur and
    solarize, in that order (the order of DINO's pipeline), each sample with its own parameters.

    The parameters and probabilities mean what they mean in the pipeline transforms: brightness,
    contrast and saturation factors uniform in ``[max(0, 1 - a), 1 + a]``, the hue shift uniform in
    ``[-hue, hue]`` turns, the four in a random order per sample, all applied with ``jitter_prob``
    (``RandomApply(ColorJitter)``); grey with ``grey_prob``; a blur of standard deviation uniform in
    ``blur_sigma`` with ``blur_prob``; levels ``>= solarize_threshold`` inverted with ``solarize_prob``.

    Args:
        jitter_prob (float): Probability of the colour jitter. Defaults to 0.8.
        brightness (float): Defaults to 0.4.
        contrast (float): Defaults to 0.4.
        saturation (float): Defaults to 0.2.
        hue (float): At most 0.5. Defaults to 0.1.
        grey_prob (float): Defaults to 0.2.
        grey_weights (Sequence[float]): Channel weights of the grey image, BGR order (the configs'
            ``channel_weights``). Defaults to (0.114, 0.587, 0.2989).
        blur_prob (float): Defaults to 0.
        blur_sigma (tuple): Range of the blur's standard deviation, in pixels. Defaults to (0.1, 2.0).
        solarize_prob (float): Defaults to 0.
        solarize_threshold (float): Defaults to 128.
    """

    def __init__(self,
                 jitter_prob: float = 0.8,
                 brightness: float = 0.4,
                 contrast: float = 0.4,
                 saturation: float = 0.2,
                 hue: float = 0.1,
                 grey_prob: float = 0.2,
                 grey_weights: Sequence[float] = (0.114, 0.587, 0.2989),
                 blur_prob: float = 0.0,
                 blur_sigma: Sequence[float] = (0.1, 2.0),
                 solarize_prob: float = 0.0,
                 solarize_threshold: float = 128) -> None:
        for name, p in dict(jitter_prob=jitter_prob, grey_prob=grey_prob, blur_prob=blur_prob,
                            solarize_prob=solarize_prob).items():
            if not 0 <= p <= 1:
                raise ValueError(f'BatchPhotometricAugment.{name} must be in [0, 1], got {p}')
        if not 0 <= hue <= 0.5:
            raise ValueError(f'BatchPhotometricAugment.hue must be in [0, 0.5], got {hue}')
        if not 0 < blur_sigma[0] <= blur_sigma[1]:
            raise ValueError(f'BatchPhotometricAugment.blur_sigma must be (low, high), 0 < low <= high, '
                             f'got {tuple(blur_sigma)}')
        self.jitter_prob = jitter_prob
        self.ranges = dict(brightness=_factor_range(brightness, 'brightness'),
                           contrast=_factor_range(contrast, 'contrast'),
                           saturation=_factor_range(saturation, 'saturation'), hue=(-hue, hue))
        self.grey_prob = grey_prob
        self.grey_weights = tuple(float(w) for w in grey_weights)
        self.blur_prob = blur_prob
        self.blur_sigma = (float(blur_sigma[0]), float(blur_sigma[1]))
        self.solarize_prob = solarize_prob
        self.solarize_threshold = float(solarize_threshold)

    def draw(self, batch: int, generator: Optional[torch.Generator] = None) -> Dict[str, Tensor]:
        """Per-sample parameters, on the CPU (a fixed number of draws from ``generator``, so the streams
        after it do not depend on what was drawn).

        Returns:
            dict: ``jitter``, ``grey``, ``blur``, ``solarize`` (bool ``(B, )``: applied or not), ``order``
            (long ``(B, 4)``: a permutation of brightness, contrast, saturation, hue), the factors
            ``brightness``, ``contrast``, ``saturation``, ``hue`` and ``sigma`` (float ``(B, )``).
        """
        def uniform(low: float, high: float) -> Tensor:
            return low + (high - low) * torch.rand(batch, generator=generator)

        coin = torch.rand(batch, 4, generator=generator)
        params = dict(jitter=coin[:, 0] < self.jitter_prob, grey=coin[:, 1] < self.grey_prob,
                      blur=coin[:, 2] < self.blur_prob, solarize=coin[:, 3] < self.solarize_prob,
                      order=torch.rand(batch, 4, generator=generator).argsort(1))
        for name, (low, high) in self.ranges.items():
            params[name] = uniform(low, high)
        params['sigma'] = uniform(*self.blur_sigma)
        return params

    def apply(self, images: Tensor, params: Dict[str, Tensor]) -> Tensor:
        """Augment ``(B, 3, H, W)`` BGR images in 0–255 (float) with parameters from :meth:`draw` (on the
        CPU: the jitter and the blur group the samples by them on the host)."""
        x = images
        if self.jitter_prob > 0:
            x = self.jitter(x, params)
        if self.grey_prob > 0:
            x = P.to_grey(x, params['grey'].to(images.device, non_blocking=True), self.grey_weights)
        if self.blur_prob > 0:
            x = self.blur(x, params)
        if self.solarize_prob > 0:
            x = P.solarize(x, params['solarize'].to(images.device, non_blocking=True),
                           self.solarize_threshold)
        return x

    def jitter(self, images: Tensor, params: Dict[str, Tensor]) -> Tensor:
        """The colour jitter: in each of the 4 order slots, each operation runs on the samples whose
        order puts it there (gathered, run, put back); a sample without jitter is copied unchanged.

        Each sample goes through its own 4 operations (a quarter-batch each on average), not all 16 with
        identity parameters; the grouping comes from the parameters on the host (``draw``'s CPU
        tensors), so the device is never read.

        Args:
            images (Tensor): ``(B, 3, H, W)`` BGR in 0–255.
            params (dict): From :meth:`draw` (on the CPU).
        """
        ops = ((P.adjust_brightness, 'brightness'), (P.adjust_contrast, 'contrast'),
               (P.adjust_saturation, 'saturation'), (P.adjust_hue, 'hue'))
        # per slot: the operation each sample runs there, len(ops) for a sample without jitter
        runs = torch.where(params['jitter'][:, None], params['order'], len(ops))  # (B, 4)
        perm, counts = host_groups(runs, len(ops) + 1)
        values = torch.stack([params[name].float() for _, name in ops], 1)  # (B, 4)
        index = perm.to(images.device, non_blocking=True)
        values = values.to(images.device, images.dtype, non_blocking=True)
        x = images
        for slot in range(4):
            out = torch.empty_like(x)
            rows = index[:, slot].split(counts[slot])  # the samples of each operation, then the rest
            for k, (op, _) in enumerate(ops):
                if counts[slot][k]:
                    part = op(x.index_select(0, rows[k]), values.index_select(0, rows[k])[:, k])
                    out.index_copy_(0, rows[k], part)
            if counts[slot][len(ops)]:
                out.index_copy_(0, rows[len(ops)], x.index_select(0, rows[len(ops)]))
            x = out
        return x

    def blur(self, images: Tensor, params: Dict[str, Tensor]) -> Tensor:
        """The Gaussian blur of the samples drawn for it only (the views blur one in ten in DINO's
        recipe), gathered on a grouping made on the host as :meth:`jitter`'s."""
        order, counts = host_groups(params['blur'][:, None].long(), 2)
        sigma = params['sigma'].to(images.device, images.dtype, non_blocking=True)
        if counts[0][1] in (0, images.shape[0]):  # none, or all: no gathering
            return images if counts[0][1] == 0 else P.gaussian_blur(images, sigma, None, self.blur_sigma[1])
        rows = order[counts[0][0]:, 0].to(images.device, non_blocking=True)
        blurred = P.gaussian_blur(images.index_select(0, rows), sigma.index_select(0, rows), None,
                                  self.blur_sigma[1])
        return images.index_copy(0, rows, blurred)

    def __call__(self, images: Tensor, generator: Optional[torch.Generator] = None) -> Tensor:
        return self.apply(images, self.draw(images.shape[0], generator))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(jitter_prob={self.jitter_prob}, ranges={self.ranges}, '
                f'grey_prob={self.grey_prob}, blur_prob={self.blur_prob}, blur_sigma={self.blur_sigma}, '
                f'solarize_prob={self.solarize_prob})')
