"""Batching and normalisation of SAIP inputs (anchor, scaled views, canvas, masks, targets)."""
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor
from torch import Tensor

from saip_mm.registry import MODELS

from .utils.host_counter import add_host_counter
from .utils.masking import draw_patch_mask, exact_mask_count
from .utils.randomness import host_randint, host_uniform, step_generator
from .utils.rescale import rescale

IMAGE_KEYS = ('anchor', 'canvas')
VIEW_SOURCES = ('views', 'anchor')
# lists of per-view patch masks: the views' (CSR), or several masks of the anchor (HAP's part masks)
MASK_KEYS = ('view_masks', 'part_masks')


def common_count(counts: Sequence[int]) -> Optional[int]:
    """The one masked count of a batch's rows (``PackSAIPInputs``' per-sample counts), or ``None`` when
    they differ (then the model counts from the mask, and refuses a drop-encoding of unequal rows)."""
    counts = [int(c) for c in counts]
    return counts[0] if counts and all(c == counts[0] for c in counts) else None


def as_batch(images: Union[Tensor, Sequence[Tensor]]) -> Tensor:
    """``(B, ...)``: a batch that ``stack_collate`` stacked in the worker as it is, B per-sample tensors
    (``pseudo_collate``) stacked here."""
    return images if isinstance(images, Tensor) else torch.stack(list(images))


@MODELS.register_module()
class SAIPDataPreprocessor(BaseDataPreprocessor):
    """Stack the per-sample dicts of ``PackSAIPInputs``, convert BGR→RGB and normalise the images.

    Optionally brings the multi-resolution views to their scales on the batch (paper §III-B: scales
    from 0.75 to 1.5 of the anchor size): one scale per view is drawn per batch (so every sample of a
    view has the same size), and patch masks with exact keep counts are drawn for each view. With
    ``view_scale_set`` (the paper preset: 0.75, 1.0, 1.25, 1.5) the scale is one of a few, so a whole run
    sees a handful of input shapes (the allocator, attention kernels and ``torch.compile`` see few
    shapes); with ``view_scale_range`` it is drawn from the interval and sides are rounded to multiples
    of ``size_divisor`` (a new shape almost every step).

    Where the views come from (``view_source``):

    * ``'views'`` (default): the pipeline's views, each an independently augmented crop of the source
      image at the anchor size (``MultiView`` + ``AssignViews``, DINO-style photometric augmentation:
      the paper's "other settings identical to DINO"), are resized to their scales;
    * ``'anchor'`` (ablation): ``num_views`` bare resizes of the augmented anchor, the same pixels at
      another size.

    With ``view_source='views'``, ``keep_views`` leading pipeline views stay at their size (the second
    global crop, which the expert encodes beside the anchor, as in the authors' code) and
    ``anchor_copies`` bare resizes of the anchor (the same pixels at another scale: the paper's §III-B
    view, and the authors' code's shrunk and rescaled first global crop) are appended after the
    rescaled views.

    Args:
        mean (Sequence[float]): Per-channel mean (RGB, 0–255). Defaults to ImageNet's.
        std (Sequence[float]): Per-channel std. Defaults to ImageNet's.
        bgr_to_rgb (bool): Whether the packed images are BGR (mmcv loading). Defaults to True.
        view_scale_range (tuple, optional): (low, high) scale range for batch-level views.
        view_scale_set (Sequence[float], optional): The scales batch-level views are drawn from
            (uniformly); each must give sides that are multiples of ``size_divisor`` for
            ``anchor_size``. Not together with ``view_scale_range``.
        anchor_size (Sequence[int]): (H, W) of the anchor, to check ``view_scale_set`` at build time.
            Defaults to (256, 128).
        view_source (str): ``'views'`` or ``'anchor'`` (see above). Defaults to ``'views'``.
        num_views (int): Views made per batch with ``view_source='anchor'``. Defaults to 2.
        keep_views (int): Leading pipeline views kept at their size (``view_source='views'``). Defaults
            to 0.
        anchor_copies (int): Rescaled copies of the anchor appended to the views (``view_source='views'``).
            Defaults to 0.
        size_divisor (int): View sides are rounded to multiples of this. Defaults to 16.
        mask_ratio (float, optional): Patch mask ratio of batch-level views. ``SAIP`` builds its
            preprocessor with ``model.csr.mask_ratio`` (the ratio lives in one place; a different value
            here is refused); 0.75 when nothing sets it.
        mask_type (str, optional): ``'random'`` or ``'block'`` (``models/utils/masking.py``); ``SAIP``
            passes ``model.csr.mask_type``; ``'random'`` when nothing does.
        photometric (dict, optional): DINO's photometric augmentation made here, on the model's device,
            per sample (``BatchPhotometricAugment`` configs), instead of in the pipeline's workers:
            ``anchor`` (one config), ``views`` (one config or ``None`` per pipeline view, in order) and
            ``canvas`` (``'anchor'``: the anchor's own parameters, as the canvas holds the anchor's person;
            a config; or ``None``). Applied in training only, before the views are rescaled. ``None``
            (default): the pipeline augments (the CPU path).
        seed (int): Seed of the batch-level draws; they are drawn from ``(seed, rank, batch counter)``
            and the counter is saved with the model, so a resumed run repeats them. Defaults to 0.
    """

    def __init__(self,
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375),
                 bgr_to_rgb: bool = True,
                 view_scale_range: Optional[Sequence[float]] = None,
                 view_scale_set: Optional[Sequence[float]] = None,
                 anchor_size: Sequence[int] = (256, 128),
                 view_source: str = 'views',
                 num_views: int = 2,
                 keep_views: int = 0,
                 anchor_copies: int = 0,
                 size_divisor: int = 16,
                 mask_ratio: Optional[float] = None,
                 mask_type: Optional[str] = None,
                 photometric: Optional[dict] = None,
                 seed: int = 0) -> None:
        super().__init__()
        self.register_buffer('mean', torch.tensor(mean).view(-1, 1, 1), False)
        self.register_buffer('std', torch.tensor(std).view(-1, 1, 1), False)
        self.bgr_to_rgb = bgr_to_rgb
        if view_source not in VIEW_SOURCES:
            raise ValueError(f'view_source must be one of {VIEW_SOURCES}, got {view_source!r}')
        if (keep_views or anchor_copies) and view_source != 'views':
            raise ValueError(f"model.data_preprocessor.keep_views / anchor_copies need view_source='views', "
                             f'got {view_source!r}')
        if keep_views < 0 or anchor_copies < 0:
            raise ValueError(f'model.data_preprocessor.keep_views ({keep_views}) and anchor_copies '
                             f'({anchor_copies}) must be >= 0')
        if view_scale_range is not None and view_scale_set is not None:
            raise ValueError('model.data_preprocessor: view_scale_range and view_scale_set are two ways to '
                             'draw the view scales; set one (the other None)')
        self.view_scale_set = tuple(float(s) for s in view_scale_set) if view_scale_set else None
        self.size_divisor = size_divisor
        if self.view_scale_set:
            self.check_scale_set(tuple(anchor_size))
        self.view_scale_range = view_scale_range
        self.view_source = view_source
        self.num_views = num_views
        self.keep_views = keep_views
        self.anchor_copies = anchor_copies
        self.mask_ratio = mask_ratio
        self.mask_type = mask_type
        self.seed = seed
        self.photometric = self.build_photometric(photometric) if photometric else None
        add_host_counter(self, 'batches')  # batches prepared (saved in checkpoints; host side)

    def check_scale_set(self, anchor_size: Sequence[int]) -> None:
        """Refuse a scale of ``view_scale_set`` whose sides at ``anchor_size`` are not multiples of
        ``size_divisor`` (the tokens would not tile the view)."""
        h, w = anchor_size
        for s in self.view_scale_set:
            sides = (h * s, w * s)
            if any(abs(x - round(x)) > 1e-6 or round(x) % self.size_divisor for x in sides):
                raise ValueError(f'model.data_preprocessor.view_scale_set: scale {s:g} gives '
                                 f'{sides[0]:g}x{sides[1]:g} for a {h}x{w} anchor, not multiples of '
                                 f'{self.size_divisor}')

    @staticmethod
    def build_photometric(cfg: dict) -> Dict[str, object]:
        """``{'anchor': aug or None, 'views': [aug or None, ...], 'canvas': aug, 'anchor' or None}``."""
        unknown = set(cfg) - {'anchor', 'views', 'canvas'}
        if unknown:
            raise KeyError(f'model.data_preprocessor.photometric: unknown key(s) {sorted(unknown)}; '
                           "expected 'anchor', 'views', 'canvas'")

        def build(aug):
            return MODELS.build(aug) if isinstance(aug, dict) else aug

        canvas = cfg.get('canvas')
        if canvas is not None and not isinstance(canvas, dict) and canvas != 'anchor':
            raise ValueError("model.data_preprocessor.photometric.canvas must be 'anchor', a config or None, "
                             f'got {canvas!r}')
        if canvas == 'anchor' and not cfg.get('anchor'):
            raise ValueError("model.data_preprocessor.photometric.canvas='anchor' needs an anchor "
                             'augmentation (photometric.anchor)')
        return dict(anchor=build(cfg.get('anchor')), views=[build(a) for a in cfg.get('views') or []],
                    canvas=build(canvas))

    def draw_scale(self, gen: torch.Generator) -> float:
        """One view scale: a member of ``view_scale_set`` or a point of ``view_scale_range``."""
        if self.view_scale_set:
            return self.view_scale_set[host_randint(len(self.view_scale_set), gen)]
        return host_uniform(*self.view_scale_range, gen)

    def to_float(self, imgs: Tensor) -> Tensor:
        """uint8 images as float 0–255 on the model's device."""
        return imgs.to(self.device, non_blocking=True).float()

    def normalize(self, imgs: Tensor) -> Tensor:
        imgs = self.to_float(imgs)
        if self.bgr_to_rgb:
            imgs = imgs[:, [2, 1, 0]]
        return (imgs - self.mean) / self.std

    def forward(self, data: dict, training: bool = False) -> dict:
        """Batch the output of ``pseudo_collate``.

        Args:
            data (dict): ``inputs`` is a dict of per-sample lists (``views`` and ``view_masks`` are
                lists over views of per-sample lists), as ``pseudo_collate`` makes from
                ``PackSAIPInputs``, or of ``(B, ...)`` tensors where ``stack_collate`` stacked them; or
                a list of ``(3, H, W)`` images of one size (evaluation), which are stacked and
                normalised.
            training (bool): Whether batch-level views are drawn.

        Returns:
            dict: ``inputs`` (dict of batched tensors, or one ``(B, 3, H, W)`` tensor for a plain
            batch) and ``data_samples``. With masks, ``inputs['mask_counts']`` maps each mask key to the
            masked count per row of each mask (``None`` where the rows differ or the pipeline gave no
            count), known on the host without reading the masks.
        """
        inputs = data['inputs']
        if not isinstance(inputs, dict):  # plain image batch (evaluation: PackInputs / PackReIDInputs)
            images = torch.stack([img.reshape(img.shape[-3:]) for img in inputs])
            return dict(inputs=self.normalize(images), data_samples=data.get('data_samples'))
        out: Dict[str, object] = {}
        images: Dict[str, Union[Tensor, List[Tensor]]] = {key: as_batch(inputs[key])
                                                          for key in IMAGE_KEYS if key in inputs}
        if 'views' in inputs:
            images['views'] = [as_batch(v) for v in inputs['views']]
        batch_draws = training and (self.view_scale_range is not None or bool(self.view_scale_set)
                                    or self.photometric is not None)
        first_batch = self.batches.value == 0
        gen = step_generator(self.seed, self.batches.value) if batch_draws else None
        if batch_draws:
            self.batches.advance()
        if training and self.photometric is not None:
            self._augment(images, gen)
        for key in IMAGE_KEYS:
            if key in images:
                out[key] = self.normalize(images[key])
        if 'views' in images:
            out['views'] = [self.normalize(v) for v in images['views']]
        for key in MASK_KEYS:
            if key in inputs:
                out[key] = [as_batch(m).to(self.device) for m in inputs[key]]
                counts = inputs.get('mask_counts', {}).get(key)  # per mask, per sample (the pipeline's)
                out.setdefault('mask_counts', {})[key] = (
                    [common_count(c) for c in counts] if counts else [None] * len(out[key]))
        if 'canvas_target' in inputs:
            out['canvas_target'] = as_batch(inputs['canvas_target']).to(self.device)
        if (self.view_scale_range is not None or self.view_scale_set) and training:
            self._batch_views(out, gen, first_batch)
        return dict(inputs=out, data_samples=data.get('data_samples'))

    def _augment(self, images: Dict[str, object], gen: torch.Generator) -> None:
        """The device-side photometric augmentation (``photometric``), in place of ``images``' entries;
        parameters drawn in a fixed order: anchor, views, canvas."""
        aug = self.photometric
        views = images.get('views') or []
        if len(aug['views']) > len(views):
            raise ValueError(f"model.data_preprocessor.photometric.views has {len(aug['views'])} entries, "
                             f'but the pipeline gives {len(views)} view(s)')
        anchor_params = None
        if aug['anchor'] is not None and 'anchor' in images:
            anchor = self.to_float(images['anchor'])
            anchor_params = aug['anchor'].draw(anchor.shape[0], gen)
            images['anchor'] = aug['anchor'].apply(anchor, anchor_params)
        for i, view_aug in enumerate(aug['views']):
            if view_aug is not None:
                views[i] = view_aug(self.to_float(views[i]), gen)
        if aug['canvas'] is not None and 'canvas' in images:
            canvas = self.to_float(images['canvas'])
            if aug['canvas'] == 'anchor':  # the anchor's own parameters (checked at build time)
                images['canvas'] = aug['anchor'].apply(canvas, anchor_params)
            else:
                images['canvas'] = aug['canvas'](canvas, gen)

    def _batch_views(self, out: Dict[str, object], gen: torch.Generator, first_batch: bool) -> None:
        anchor: Tensor = out['anchor']
        if self.view_source == 'views':
            if not out.get('views'):
                raise KeyError("view_source='views' needs 'views' from the pipeline (MultiView + "
                               "AssignViews); set view_source='anchor' for bare resizes of the anchor")
            if len(out['views']) < self.keep_views:
                raise ValueError(f'model.data_preprocessor.keep_views={self.keep_views}, but the pipeline '
                                 f"gives {len(out['views'])} view(s)")
            sources = list(out['views']) + [anchor] * self.anchor_copies
        else:
            sources = [anchor] * self.num_views
        if self.view_scale_set and first_batch:
            self.check_scale_set(tuple(anchor.shape[-2:]))  # the actual anchor, once
        views, masks = [], []
        for i, src in enumerate(sources):
            if i >= self.keep_views:
                src = rescale(src, self.draw_scale(gen), self.size_divisor)
            views.append(src)
            grid = (src.shape[-2] // self.size_divisor, src.shape[-1] // self.size_divisor)
            ratio = 0.75 if self.mask_ratio is None else self.mask_ratio
            masks.append(draw_patch_mask(self.mask_type or 'random', anchor.shape[0], grid, ratio, gen,
                                         self.device))
        out['views'] = views
        out['view_masks'] = masks
        out.setdefault('mask_counts', {})['view_masks'] = [exact_mask_count(m.shape[1], ratio) for m in masks]
