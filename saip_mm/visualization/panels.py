"""PNG panels of what pretraining does (uint8 BGR images for cv2 / the mmengine visualizer):
token maps on the crop, CSR (masked view | prediction | target), CSS (canvas with boxes | predicted
map per query | target map), and a 2-D scatter of features coloured by identity."""
from typing import List, Optional, Sequence

import cv2
import numpy as np
import torch
from torch import Tensor

from saip_mm.models.utils.pos_embed import patchify, unpatchify

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


def to_bgr(image: Tensor, mean: Sequence[float] = IMAGENET_MEAN,
           std: Sequence[float] = IMAGENET_STD) -> np.ndarray:
    """A normalised RGB ``(3, H, W)`` tensor as a uint8 BGR image."""
    img = image.detach().float().cpu() * torch.tensor(std).view(3, 1, 1) + torch.tensor(mean).view(3, 1, 1)
    return np.ascontiguousarray(img.clamp(0, 255).byte().permute(1, 2, 0).numpy()[..., ::-1])


def heat_overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """A (rows, cols) map, min-max scaled, as a JET overlay on a BGR image (nearest cells)."""
    h, w = image.shape[:2]
    heat = (heat - heat.min()) / max(float(heat.max() - heat.min()), 1e-12)
    heat = cv2.resize((heat * 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    return cv2.addWeighted(image, 1 - alpha, cv2.applyColorMap(heat, cv2.COLORMAP_JET), alpha, 0)


def cells(grid_image: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """A (rows, cols, 3) float [0, 1] RGB grid as a BGR uint8 image of ``size`` (H, W), nearest."""
    img = (np.clip(grid_image, 0, 1) * 255).astype(np.uint8)[..., ::-1]
    return cv2.resize(img, (int(size[1]), int(size[0])), interpolation=cv2.INTER_NEAREST)


def hstack(images: Sequence[np.ndarray], gap: int = 4, labels: Optional[Sequence[str]] = None) -> np.ndarray:
    """Images side by side (padded to one height), optionally with a label on each."""
    h = max(i.shape[0] for i in images)
    out = []
    for k, img in enumerate(images):
        img = img if img.ndim == 3 else cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        img = cv2.copyMakeBorder(img, 0, h - img.shape[0], 0, gap, cv2.BORDER_CONSTANT, value=(255, 255, 255))
        if labels:
            cv2.putText(img, labels[k], (2, 11), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 255, 255), 1)
        out.append(img)
    return np.concatenate(out, axis=1)


def vstack(images: Sequence[np.ndarray], gap: int = 4) -> np.ndarray:
    w = max(i.shape[1] for i in images)
    return np.concatenate([cv2.copyMakeBorder(i, 0, gap, 0, w - i.shape[1], cv2.BORDER_CONSTANT,
                                              value=(255, 255, 255)) for i in images], axis=0)


def csr_panel(pred: Tensor, view: Tensor, mask: Tensor, patch_size: int = 16,
              norm_pix: bool = True) -> np.ndarray:
    """Masked view | prediction | target for one sample.

    Args:
        pred (Tensor): ``(L_masked, p*p*3)`` predictions of the masked patches (ascending order), or
            ``(L, p*p*3)`` for all patches.
        view (Tensor): The normalised target view ``(3, H, W)``.
        mask (Tensor): Boolean ``(L,)``, True = masked.
        patch_size (int): Patch size.
        norm_pix (bool): Predictions are per-patch normalised (MAE): they are shown with the target
            patch's own mean and std, as MAE visualises them.
    """
    grid = (view.shape[-2] // patch_size, view.shape[-1] // patch_size)
    target = patchify(view[None].float(), patch_size)[0]  # (L, p*p*3)
    full = target.clone()
    masked = mask.nonzero().flatten()
    p = pred.float() if pred.shape[0] == target.shape[0] else None
    values = p[masked] if p is not None else pred.float()
    if norm_pix:
        mean = target[masked].mean(-1, keepdim=True)
        std = (target[masked].var(-1, keepdim=True) + 1e-6)**.5
        values = values * std + mean
    full[masked] = values
    grey = target.clone()
    grey[masked] = 0.0  # the dataset mean after normalisation
    as_img = lambda t: to_bgr(unpatchify(t[None], grid, patch_size)[0])  # noqa: E731
    return hstack([as_img(grey), as_img(full), as_img(target)], labels=['masked', 'prediction', 'target'])


def css_panel(logits: Tensor, canvas: Tensor, target: Tensor) -> np.ndarray:
    """Canvas with the instances' boxes | predicted map per query | target map, for one sample.

    Args:
        logits (Tensor): ``(Q, rows, cols)`` mask logits of the query views.
        canvas (Tensor): Normalised canvas ``(3, Hc, Wc)``.
        target (Tensor): ``(rows, cols)`` or ``(Q, rows, cols)`` box-coverage targets in [0, 1].
    """
    img = to_bgr(canvas)
    h, w = img.shape[:2]
    targets = target[None].expand(logits.shape[0], -1, -1) if target.dim() == 2 else target
    boxed = img.copy()
    colours = [(0, 255, 0), (0, 128, 255), (255, 0, 255), (255, 255, 0)]
    for q, t in enumerate(targets):
        ys, xs = np.nonzero(t.cpu().numpy() > 0)
        if len(ys):
            rows, cols = t.shape
            pt1 = (int(xs.min() * w / cols), int(ys.min() * h / rows))
            pt2 = (int((xs.max() + 1) * w / cols) - 1, int((ys.max() + 1) * h / rows) - 1)
            cv2.rectangle(boxed, pt1, pt2, colours[q % len(colours)], 2)
    grey = lambda m: cv2.resize((m.clamp(0, 1).cpu().numpy() * 255).astype(np.uint8), (w, h),  # noqa: E731
                                interpolation=cv2.INTER_NEAREST)
    maps = [grey(torch.sigmoid(lg.float())) for lg in logits]
    tmaps = [grey(t.float()) for t in targets]
    return vstack([hstack([boxed] + maps, labels=['canvas'] + [f'pred q{q}' for q in range(len(maps))]),
                   hstack([boxed] + tmaps, labels=['canvas'] + [f'target q{q}' for q in range(len(tmaps))])])


def scatter(points: np.ndarray, labels: np.ndarray, size: int = 480) -> np.ndarray:
    """2-D points (e.g. t-SNE) as coloured dots, one colour per label, with the label numbers."""
    img = np.full((size, size, 3), 255, np.uint8)
    lo, hi = points.min(0), points.max(0)
    xy = ((points - lo) / np.maximum(hi - lo, 1e-9) * (size - 40) + 20).astype(int)
    uniq = sorted(set(labels.tolist()))
    hues = {lab: int(180 * i / max(1, len(uniq))) for i, lab in enumerate(uniq)}
    for (x, y), lab in zip(xy, labels):
        colour = cv2.cvtColor(np.uint8([[[hues[lab], 220, 220]]]), cv2.COLOR_HSV2BGR)[0, 0].tolist()
        cv2.circle(img, (int(x), int(y)), 4, colour, -1)
    for lab in uniq:
        centre = xy[labels == lab].mean(0).astype(int)
        cv2.putText(img, str(lab), tuple(int(c) for c in centre), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    return img


def tsne(features: np.ndarray, perplexity: float = 20.0, iters: int = 500, seed: int = 0) -> np.ndarray:
    """Exact t-SNE (van der Maaten & Hinton, 2008) of a few hundred features to 2-D, deterministic.

    Returns:
        np.ndarray: ``(N, 2)`` coordinates.
    """
    x = torch.as_tensor(features, dtype=torch.float64)
    x = torch.nn.functional.normalize(x - x.mean(0), dim=1)
    n = x.shape[0]
    d2 = torch.cdist(x, x).pow(2)
    target = np.log(min(perplexity, (n - 1) / 3))
    p = torch.zeros(n, n, dtype=torch.float64)
    for i in range(n):  # binary search of each point's bandwidth for the perplexity
        lo, hi, beta = 1e-20, 1e20, 1.0
        row = torch.cat([d2[i, :i], d2[i, i + 1:]])
        for _ in range(60):
            w = torch.exp(-row * beta)
            s = w.sum().clamp(min=1e-300)
            entropy = float(torch.log(s) + beta * (row * w).sum() / s)
            if abs(entropy - target) < 1e-5:
                break
            if entropy > target:
                lo, beta = beta, beta * 2 if hi >= 1e20 else (beta + hi) / 2
            else:
                hi, beta = beta, (beta + lo) / 2
        w = w / s
        p[i, :i], p[i, i + 1:] = w[:i], w[i:]
    p = ((p + p.T) / (2 * n)).clamp(min=1e-12)
    gen = torch.Generator().manual_seed(seed)
    y = torch.randn(n, 2, generator=gen, dtype=torch.float64) * 1e-2
    velocity = torch.zeros_like(y)
    for it in range(iters):
        num = 1 / (1 + torch.cdist(y, y).pow(2))
        num.fill_diagonal_(0)
        q = (num / num.sum()).clamp(min=1e-12)
        exaggeration = 12.0 if it < 100 else 1.0
        grad = 4 * ((exaggeration * p - q) * num).unsqueeze(2).mul(y[:, None] - y[None]).sum(1)
        velocity = (0.5 if it < 250 else 0.8) * velocity - 100.0 * grad
        y = y + velocity
        y = y - y.mean(0)
    return y.numpy()


def attention_panel(image: np.ndarray, maps: np.ndarray, name: str) -> np.ndarray:
    """Per-head maps and their mean over a crop: ``maps`` is ``(heads, rows, cols)``."""
    tiles = [image] + [heat_overlay(image, m) for m in maps]
    labels = ['crop'] + [f'{name} h{h}' for h in range(len(maps))]
    if len(maps) > 1:
        tiles.append(heat_overlay(image, maps.mean(0)))
        labels.append('mean')
    return hstack(tiles, labels=labels)


__all__: List[str] = ['attention_panel', 'cells', 'csr_panel', 'css_panel', 'heat_overlay', 'hstack',
                      'scatter', 'to_bgr', 'tsne', 'vstack']


def objective_panels(model, inputs: dict) -> dict:
    """The panels of what a pretraining model's objectives predict for a preprocessed training batch
    (``PretrainAlgorithm.objective_outputs``): ``{objective name: BGR image}`` for its reconstruction
    objectives (``csr_panel``) and search objectives (``css_panel``), first image of the batch."""
    from saip_mm.models.objectives import CSR, CSS
    panels = {}
    for name, out in model.objective_outputs(inputs).items():
        objective = model.objectives[name]
        if isinstance(objective, CSR):
            pred, view, mask = out
            head = objective.head
            panels[name] = csr_panel(pred[0], view[0], mask[0], head.patch_size, head.norm_pix)
        elif isinstance(objective, CSS):
            logits, canvas, target = out
            panels[name] = css_panel(logits[:, 0], canvas[0], target[0])
    return panels
