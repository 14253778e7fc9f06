"""Image ReID evaluation: query-to-gallery ranking with the Market-1501 / MSMT17 protocol."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric

from saip_mm.registry import METRICS


@METRICS.register_module()
class ReIDRankMetric(BaseMetric):
    """CMC Rank-k and mAP of queries against a gallery.

    For each query, gallery images of the same identity **and** camera are removed from its ranking
    (the standard protocol); queries without a remaining true match are skipped. Distances are
    Euclidean between L2-normalised features (equivalently, cosine).

    Data samples must carry ``pred_feature``, the identity ``gt_label`` and the metainfo ``camid``
    and ``is_query`` (``Market1501Dataset(split='test')`` packed with those ``meta_keys``).

    Args:
        ranks (Sequence[int]): CMC ranks to report. Defaults to (1, 5, 10).
        collect_device (str): Device for collecting results across ranks. Defaults to 'cpu'.
        prefix (str, optional): Metric prefix. Defaults to ``'reid'``.
    """
    default_prefix: Optional[str] = 'reid'

    def __init__(self, ranks: Sequence[int] = (1, 5, 10), collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device, prefix)
        self.ranks = tuple(int(r) for r in ranks)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            for key in ('camid', 'is_query'):
                if key not in sample:
                    raise KeyError(f'ReIDRankMetric needs "{key}" in the data samples: add it to the '
                                   f"meta_keys of PackReIDInputs and use a dataset that sets it")
            label = sample['gt_label']
            label = label['label'] if isinstance(label, dict) else label  # mmdet / mmpretrain samples
            self.results.append(dict(feat=sample['pred_feature'].detach().float().cpu(),
                                     pid=int(label.reshape(-1)[0]),
                                     cam=int(sample['camid']), query=bool(sample['is_query'])))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        query = [r for r in results if r['query']]
        gallery = [r for r in results if not r['query']]
        if not query or not gallery:
            raise ValueError(f'ReID evaluation needs queries and a gallery, got {len(query)} queries '
                             f'and {len(gallery)} gallery images')
        cmc, aps = rank_queries(torch.stack([r['feat'] for r in query]),
                                torch.stack([r['feat'] for r in gallery]),
                                np.array([r['pid'] for r in query]), np.array([r['pid'] for r in gallery]),
                                np.array([r['cam'] for r in query]), np.array([r['cam'] for r in gallery]))
        if not aps:
            raise ValueError('no query has a true match in the gallery from another camera')
        metrics = {f'R{k}': float(np.mean([c[k - 1] if len(c) >= k else c[-1] for c in cmc])) * 100
                   for k in self.ranks}
        metrics['mAP'] = float(np.mean(aps)) * 100
        metrics['num_queries'] = len(aps)
        return metrics


def rank_queries(q_feat: torch.Tensor, g_feat: torch.Tensor, q_pid: np.ndarray, g_pid: np.ndarray,
                 q_cam: np.ndarray, g_cam: np.ndarray, camera_filter: bool = True):
    """Per-query cumulative match curves and average precisions.

    Args:
        q_feat, g_feat (Tensor): ``(Nq, C)`` and ``(Ng, C)`` features.
        q_pid, g_pid, q_cam, g_cam (np.ndarray): Identities and cameras.
        camera_filter (bool): Drop gallery images of the query's identity and camera (Market-1501
            protocol). Defaults to True.

    Returns:
        tuple: (list of 0/1 cumulative match arrays, list of APs), one entry per valid query.
    """
    dist = torch.cdist(F.normalize(q_feat, dim=1), F.normalize(g_feat, dim=1)).numpy()
    cmc_list, aps = [], []
    for i in range(len(q_pid)):
        order = np.argsort(dist[i], kind='stable')
        keep = ~((g_pid[order] == q_pid[i]) & (g_cam[order] == q_cam[i])) if camera_filter \
            else np.ones(len(order), bool)
        matches = (g_pid[order][keep] == q_pid[i]).astype(np.float64)
        if not matches.any():
            continue
        cmc_list.append(np.minimum(np.cumsum(matches), 1))
        hits = np.cumsum(matches)
        aps.append(float((hits / np.arange(1, len(matches) + 1) * matches).sum() / matches.sum()))
    return cmc_list, aps
