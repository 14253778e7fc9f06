"""HAP's part-guided masking (Yuan et al., NeurIPS 2023, §3.2) and the crop that carries keypoints to it.

Keypoints travel as mmcv does it, ``results['gt_keypoints']`` ``(1, K, 3)`` = (x, y, visible) in the
image's pixels, so ``RandomFlip`` flips them; ``KeypointRandomResizedCrop`` crops them with the image.
They are in the COCO-17 layout (``build_hp_crops.py --keypoints`` converts AIC / CrowdPose to it).
``HumanPartMask`` turns them into the six part regions and draws HAP's masks.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import mmcv
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmpretrain.datasets.transforms import RandomResizedCrop

from saip_mm.models.utils.masking import block_patch_mask
from saip_mm.registry import TRANSFORMS

# the six parts of HAP §3.2 (after [60]) as COCO-17 keypoint indices
COCO_PARTS: Dict[str, Tuple[int, ...]] = dict(
    head=(0, 1, 2, 3, 4),              # nose, eyes, ears
    upper_body=(5, 6, 11, 12),         # shoulders, hips
    left_arm=(5, 7, 9),                # shoulder, elbow, wrist
    right_arm=(6, 8, 10),
    left_leg=(11, 13, 15),             # hip, knee, ankle
    right_leg=(12, 14, 16),
)


@TRANSFORMS.register_module()
class KeypointRandomResizedCrop(RandomResizedCrop):
    """``mmpretrain.RandomResizedCrop`` that moves ``results['gt_keypoints']`` with the crop (a keypoint
    that leaves the crop becomes invisible). Same arguments."""

    def transform(self, results: dict) -> dict:
        img = results['img']
        top, left, height, width = self.rand_crop_params(img)
        img = mmcv.imresize(img[top:top + height, left:left + width], tuple(self.scale[::-1]),
                            interpolation=self.interpolation, backend=self.backend)
        results['img'], results['img_shape'] = img, img.shape
        kpts = results.get('gt_keypoints')
        if kpts is not None:
            kpts = np.array(kpts, dtype=np.float32, copy=True)
            out_h, out_w = results['img'].shape[:2]
            kpts[..., 0] = (kpts[..., 0] - left) * out_w / width
            kpts[..., 1] = (kpts[..., 1] - top) * out_h / height
            inside = ((kpts[..., 0] >= 0) & (kpts[..., 0] < out_w) & (kpts[..., 1] >= 0)
                      & (kpts[..., 1] < out_h))
            kpts[..., 2] = np.where(inside, kpts[..., 2], 0)
            results['gt_keypoints'] = kpts
        return results


def part_cells(keypoints: np.ndarray, grid: Sequence[int], patch_size: int,
               margin: float = 0.5) -> Dict[str, np.ndarray]:
    """The patches of each part region: the box around the part's visible keypoints, widened by
    ``margin`` patches on every side.

    Args:
        keypoints (np.ndarray): ``(17, 3)`` COCO-17 (x, y, visible) in the image's pixels.
        grid (tuple): ``(rows, cols)`` of the patch grid.
        patch_size (int): Patch size in pixels.
        margin (float): Widening of a part's box, in patches. Defaults to 0.5.

    Returns:
        dict: Part name → bool ``(rows, cols)`` of the patches its box touches (all False when none
        of its keypoints is visible).
    """
    rows, cols = int(grid[0]), int(grid[1])
    out = {}
    for name, idx in COCO_PARTS.items():
        cells = np.zeros((rows, cols), dtype=bool)
        pts = keypoints[list(idx)]
        pts = pts[pts[:, 2] > 0]
        if len(pts):
            pad = margin * patch_size
            x0, y0 = pts[:, :2].min(0) - pad
            x1, y1 = pts[:, :2].max(0) + pad
            c0, c1 = max(int(np.floor(x0 / patch_size)), 0), min(int(np.ceil(x1 / patch_size)), cols)
            r0, r1 = max(int(np.floor(y0 / patch_size)), 0), min(int(np.ceil(y1 / patch_size)), rows)
            cells[r0:r1, c0:c1] = True
        out[name] = cells
    return out


def part_guided_mask(cells: Dict[str, np.ndarray], ratio: float,
                     generator: torch.Generator) -> Tuple[np.ndarray, List[str]]:
    """HAP's mask sampling (§3.2): mask ``N_m = floor(ratio * N)`` patches, starting from P random parts.

    P is drawn from 0..6 and the parts in a random order. Their patches are masked part by part; if
    they exceed ``N_m``, the patches of the last parts in the selection order are left out (the part
    that crosses ``N_m`` gives a random subset). If they fall short, block-wise sampling adds the rest.

    Args:
        cells (dict): ``part_cells`` output.
        ratio (float): HAP's β.
        generator (torch.Generator): The draws.

    Returns:
        tuple: The flat bool mask ``(rows * cols,)`` with exactly ``N_m`` True, and the names of the
        parts whose patches were masked, in the selection order (the last may be partly masked).
    """
    names = list(cells)
    grid = next(iter(cells.values())).shape
    total = grid[0] * grid[1]
    n_mask = int(np.floor(ratio * total + 1e-9))
    order = torch.randperm(len(names), generator=generator).tolist()
    num_parts = int(torch.randint(len(names) + 1, (1, ), generator=generator))
    mask = np.zeros(total, dtype=bool)
    used = []
    for p in order[:num_parts]:
        room = n_mask - int(mask.sum())
        new = np.flatnonzero(cells[names[p]].reshape(-1) & ~mask)
        if room <= 0:
            break
        if not len(new):
            continue
        if len(new) > room:
            new = new[torch.randperm(len(new), generator=generator)[:room].numpy()]
        mask[new] = True
        used.append(names[p])
    if mask.sum() < n_mask:
        start = torch.from_numpy(mask)[None]
        mask = block_patch_mask(1, grid, ratio, generator, start=start, num_masked=n_mask)[0].numpy()
    return mask, used


@TRANSFORMS.register_module()
class HumanPartMask(BaseTransform):
    """Draw ``num_masks`` HAP part-guided masks of ``results['img']`` from its keypoints.

    Added keys: ``part_masks`` (list of flat bool arrays, row-major patch order, True = masked) and
    ``part_selection`` (per mask, the parts masked, in order).

    Args:
        mask_ratio (float): β, HAP's 50 %. Defaults to 0.5.
        num_masks (int): Masked views per image (HAP's alignment needs 2). Defaults to 2.
        patch_size (int): Patch size. Defaults to 16.
        margin (float): Widening of a part's box, in patches. Defaults to 0.5.

    Raises:
        KeyError: Without keypoints (set the dataset's ``keypoint_file``).
    """

    def __init__(self, mask_ratio: float = 0.5, num_masks: int = 2, patch_size: int = 16,
                 margin: float = 0.5) -> None:
        self.mask_ratio, self.num_masks = mask_ratio, num_masks
        self.patch_size, self.margin = patch_size, margin

    def transform(self, results: Dict) -> Optional[Dict]:
        if results.get('gt_keypoints') is None:
            where = results.get('img_path', 'the sample')
            raise KeyError(f'HumanPartMask (HAP) needs keypoints, and {where} has none: give the '
                           'dataset a keypoint_file (build_hp_crops.py --keypoints writes one from '
                           'COCO / AIC / CrowdPose annotations; '
                           'tools/dataset_converters/predict_keypoints.py predicts one)')
        h, w = results['img'].shape[:2]
        grid = (h // self.patch_size, w // self.patch_size)
        cells = part_cells(np.asarray(results['gt_keypoints']).reshape(-1, 3), grid, self.patch_size,
                           self.margin)
        gen = torch.Generator().manual_seed(int(np.random.randint(0, 2**31 - 1)))
        drawn = [part_guided_mask(cells, self.mask_ratio, gen) for _ in range(self.num_masks)]
        results['part_masks'] = [m for m, _ in drawn]
        results['part_selection'] = [used for _, used in drawn]
        return results


__all__ = ['COCO_PARTS', 'HumanPartMask', 'KeypointRandomResizedCrop', 'part_cells', 'part_guided_mask']
