"""Cross-scale person retrieval on ``CrossScalePersonDataset``: a second outside measure beside the
video identity set, with many more distinct people (each of them a distractor for the others)."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric

from saip_mm.registry import METRICS


def single_match_ranks(query: torch.Tensor, gallery: torch.Tensor) -> np.ndarray:
    """0-based rank of gallery row ``i`` among all gallery rows for query row ``i`` (cosine similarity;
    the true match of query ``i`` is gallery ``i``, every other row a distractor)."""
    sim = F.normalize(query, dim=-1) @ F.normalize(gallery, dim=-1).T
    true = sim.diagonal()[:, None]
    return (sim > true).sum(1).numpy()


@METRICS.register_module()
class CrossScalePersonMetric(BaseMetric):
    """Rank-1 and mAP of each person's query crop at the smallest evaluation scale against all gallery
    crops at the largest, and the reverse, averaged; per seed, then mean and standard deviation over the
    seeds (prefix ``xscale_persons``): ``R1``, ``R1_std``, ``mAP``, ``mAP_std``, ``persons``. With one true
    match per query, AP is ``1 / (rank + 1)``. Chance: R1 = 100 / persons.

    Data samples need ``pred_scale_features`` ``(S, C)`` and ``eval_scales`` (``SAIP`` in predict mode),
    ``gt_label`` (the person), and the metainfo ``xs_seed`` and ``xs_role`` (``'query'`` / ``'gallery'``).
    """
    default_prefix: Optional[str] = 'xscale_persons'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            for key in ('pred_scale_features', 'eval_scales', 'xs_seed', 'xs_role'):
                if key not in sample:
                    raise KeyError(f'CrossScalePersonMetric needs "{key}" in the data samples (SAIP predict '
                                   'mode; CrossScalePersonDataset, PackInputs meta_keys xs_seed, xs_role)')
            label = sample['gt_label']
            label = label['label'] if isinstance(label, dict) else label
            self.results.append(dict(feats=sample['pred_scale_features'].detach().float().cpu(),
                                     scales=[float(s) for s in sample['eval_scales']],
                                     pid=int(torch.as_tensor(label).reshape(-1)[0]),
                                     seed=int(sample['xs_seed']), role=sample['xs_role']))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        scales = results[0]['scales']
        lo, hi = int(np.argmin(scales)), int(np.argmax(scales))
        per_seed = {'R1': [], 'mAP': []}
        persons = 0
        for seed in sorted({r['seed'] for r in results}):
            rows = {role: sorted((r for r in results if r['seed'] == seed and r['role'] == role),
                                 key=lambda r: r['pid']) for role in ('query', 'gallery')}
            if [r['pid'] for r in rows['query']] != [r['pid'] for r in rows['gallery']]:
                raise ValueError(f'seed {seed}: queries and gallery name different people')
            persons = len(rows['query'])
            q = torch.stack([r['feats'] for r in rows['query']])
            g = torch.stack([r['feats'] for r in rows['gallery']])
            ranks = np.concatenate([single_match_ranks(q[:, lo], g[:, hi]),
                                    single_match_ranks(q[:, hi], g[:, lo])])
            per_seed['R1'].append(float((ranks == 0).mean() * 100))
            per_seed['mAP'].append(float((1.0 / (ranks + 1)).mean() * 100))
        out = {'persons': float(persons)}
        for key, values in per_seed.items():
            out[key] = float(np.mean(values))
            out[f'{key}_std'] = float(np.std(values))
        return out


__all__ = ['CrossScalePersonMetric', 'single_match_ranks']
