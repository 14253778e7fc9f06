"""Copy-paste synthesis of a multi-person canvas (paper §III-B "multi-person image", appendix A)."""
from typing import Dict, List, Optional, Sequence, Tuple

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from saip_mm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class CopyPasteCanvas(BaseTransform):
    """Paste the sample's person and ``1..max_instances-1`` other people onto a background canvas.

    The sample's own person (``results[src_key]``) is instance 0; the others come from
    ``results['mix_results']``, which the dataset fills with the crops that ``get_indexes`` names (mmdet's
    ``MultiImageMixDataset`` protocol), and the background from ``results['background']``
    (``needs_background``). Each instance keeps its aspect ratio, gets a
    random height in ``height_range`` × canvas height and a random position; instances are pasted in a
    random order, so later ones may occlude earlier ones (``allow_overlap=False`` tries to place them
    without overlap first). ``instance_map`` records, per pixel, which instance is visible (-1 =
    background), so each target covers exactly the instance's visible pixels; if the sample's person
    keeps less than ``min_visible`` of its box, it is pasted again on top.

    With ``instance_views`` the pasted people are instead the sample's own views
    ``results['views'][i]`` (the authors' code pastes two crops of one image, 128×64 each), and every
    one of them is a CSS query instance (``query_instances`` = 0..K-1, in ``instance_views`` order).

    Added keys: ``canvas`` (H×W×3 uint8), ``instance_map`` (H×W int16), ``instance_boxes`` (K×4 x1y1x2y2,
    pasted boxes), ``query_instances`` (instances that CSS queries search for; ``[0]`` by default).

    Args:
        canvas_size (tuple): (H, W). Defaults to (224, 224).
        max_instances (int): Most instances per canvas, own person included. Defaults to 3.
        min_instances (int): Fewest instances. Defaults to 1.
        height_range (tuple): Instance height as a fraction of the canvas height. Defaults to
            (0.4, 0.9).
        allow_overlap (bool): Allow occlusion. Defaults to True.
        alpha (float): Opacity of a pasted instance (the authors' code blends 0.7). Defaults to 1.
        min_visible (float): Least visible fraction of the own person's box. Defaults to 0.3.
        src_key (str): Key of the own person image. Defaults to ``'img'``.
        instance_views (Sequence[int], optional): Paste these views of the sample (all of them, in
            this order) instead of the own person and other people.
        layout (str): ``'random'`` positions, or ``'row'``: left to right without overlap, each
            instance at a random height position (the code puts the second right of the first).
            Defaults to ``'random'``.
    """

    def __init__(self,
                 canvas_size: Sequence[int] = (224, 224),
                 max_instances: int = 3,
                 min_instances: int = 1,
                 height_range: Sequence[float] = (0.4, 0.9),
                 allow_overlap: bool = True,
                 alpha: float = 1.0,
                 min_visible: float = 0.3,
                 src_key: str = 'img',
                 instance_views: Optional[Sequence[int]] = None,
                 layout: str = 'random') -> None:
        if not 1 <= min_instances <= max_instances:
            raise ValueError('need 1 <= min_instances <= max_instances')
        if layout not in ('random', 'row'):
            raise ValueError(f"layout must be 'random' or 'row', got {layout!r}")
        self.instance_views = tuple(instance_views) if instance_views is not None else None
        self.layout = layout
        self.canvas_size = tuple(int(v) for v in canvas_size)
        self.max_instances = max_instances
        self.min_instances = min_instances
        self.height_range = tuple(height_range)
        self.allow_overlap = allow_overlap
        self.alpha = float(alpha)
        self.min_visible = min_visible
        self.src_key = src_key

    needs_background = True  # the dataset loads results['background'] for this transform

    def get_indexes(self, dataset) -> List[int]:
        """Random dataset indexes of the other people to paste (none when the sample's own views are
        pasted), drawn from numpy's per-worker stream."""
        if self.instance_views is not None:
            return []
        return [np.random.randint(len(dataset)) for _ in range(self.max_instances - 1)]

    def _background(self, results: Dict) -> np.ndarray:
        ch, cw = self.canvas_size
        bg = results.get('background')
        if bg is None:
            return np.full((ch, cw, 3), 114, dtype=np.uint8)
        h, w = bg.shape[:2]
        # random crop of at least 20% of the area (the code's RandomResizedCrop scale (0.2, 1))
        area = np.random.uniform(0.2, 1.0) * h * w
        ratio = np.exp(np.random.uniform(np.log(3 / 4), np.log(4 / 3))) * w / h
        cw_ = int(min(w, max(1, round(np.sqrt(area * ratio)))))
        ch_ = int(min(h, max(1, round(np.sqrt(area / ratio)))))
        y0 = np.random.randint(0, h - ch_ + 1)
        x0 = np.random.randint(0, w - cw_ + 1)
        return mmcv.imresize(bg[y0:y0 + ch_, x0:x0 + cw_], (cw, ch)).copy()

    def _place(self, shape: Tuple[int, int], placed: List[np.ndarray]) -> np.ndarray:
        ch, cw = self.canvas_size
        h, w = shape
        box = None
        for _ in range(20 if not self.allow_overlap else 1):
            x1 = np.random.randint(0, cw - w + 1)
            y1 = np.random.randint(0, ch - h + 1)
            box = np.array([x1, y1, x1 + w, y1 + h])
            if all(_overlap(box, other) == 0 for other in placed):
                break
        return box

    def _row(self, patches: List[np.ndarray]) -> List[np.ndarray]:
        """Left-to-right boxes without overlap: the free width is split at random into gaps."""
        ch, cw = self.canvas_size
        free = cw - sum(p.shape[1] for p in patches)
        if free < 0:
            raise ValueError(f'{len(patches)} instances do not fit side by side in width {cw}')
        cuts = np.sort(np.random.randint(0, free + 1, size=len(patches)))
        gaps = np.diff(np.concatenate([[0], cuts]))
        boxes, x = [], 0
        for patch, gap in zip(patches, gaps):
            h, w = patch.shape[:2]
            x += int(gap)
            y = np.random.randint(0, ch - h + 1)
            boxes.append(np.array([x, y, x + w, y + h]))
            x += w
        return boxes

    def _resize(self, img: np.ndarray) -> np.ndarray:
        ch, cw = self.canvas_size
        h = int(round(np.random.uniform(*self.height_range) * ch))
        w = int(round(h * img.shape[1] / img.shape[0]))
        if w > cw:
            h, w = int(round(cw * img.shape[0] / img.shape[1])), cw
        return mmcv.imresize(img, (max(w, 1), max(h, 1)))

    def transform(self, results: Dict) -> Dict:
        if self.instance_views is not None:
            people = [results['views'][i] for i in self.instance_views]
            queries = list(range(len(people)))
        else:
            others = [r['img'] for r in results.get('mix_results', [])]
            n = np.random.randint(self.min_instances, self.max_instances + 1)
            people = [results[self.src_key]] + others[:n - 1]
            queries = [0]
        canvas = self._background(results)
        instance_map = np.full(self.canvas_size, -1, dtype=np.int16)
        patches = [self._resize(p) for p in people]
        boxes: List[np.ndarray] = []
        if self.layout == 'row':
            boxes = self._row(patches)
        for patch in patches[len(boxes):]:
            boxes.append(self._place(patch.shape[:2], boxes))
        for i in np.random.permutation(len(patches)):
            self._paste(canvas, instance_map, patches[i], boxes[i], i)
        for q in queries:
            box_area = (boxes[q][2] - boxes[q][0]) * (boxes[q][3] - boxes[q][1])
            if (instance_map == q).sum() < self.min_visible * box_area:
                self._paste(canvas, instance_map, patches[q], boxes[q], q)
        results['canvas'] = canvas
        results['instance_map'] = instance_map
        results['instance_boxes'] = np.stack(boxes).astype(np.float32)
        results['query_instances'] = queries
        return results

    def _paste(self, canvas: np.ndarray, instance_map: np.ndarray, patch: np.ndarray,
               box: np.ndarray, index: int) -> None:
        x1, y1, x2, y2 = (int(v) for v in box)
        region = canvas[y1:y2, x1:x2]
        if self.alpha >= 1:
            region[...] = patch
        else:
            region[...] = (self.alpha * patch + (1 - self.alpha) * region).round().astype(np.uint8)
        instance_map[y1:y2, x1:x2] = index

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(canvas_size={self.canvas_size}, '
                f'instances={self.min_instances}..{self.max_instances}, alpha={self.alpha}, '
                f'instance_views={self.instance_views}, layout={self.layout!r})')


def _overlap(a: np.ndarray, b: np.ndarray) -> int:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(0, w) * max(0, h)
