"""What pretraining learned, measured without labels in training: person retrieval across cameras and
across scales (the property SAIP claims, paper §III), and k-NN identity accuracy."""
from itertools import combinations
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric

from saip_mm.registry import METRICS

from ..models.utils.retrieval import mean_pairwise_cosine
from .reid_metric import rank_queries


def rank1_map(q_feat: torch.Tensor, g_feat: torch.Tensor, q_pid: np.ndarray, g_pid: np.ndarray,
              q_cam: np.ndarray, g_cam: np.ndarray, camera_filter: bool = True) -> Dict[str, float]:
    """Rank-1 and mAP (%) of queries against a gallery (``rank_queries``), plus the valid query count."""
    cmc, aps = rank_queries(q_feat, g_feat, q_pid, g_pid, q_cam, g_cam, camera_filter)
    if not aps:
        raise ValueError('no query has a true match in the gallery'
                         + (' from another camera' if camera_filter else ''))
    return dict(R1=float(np.mean([c[0] for c in cmc])) * 100, mAP=float(np.mean(aps)) * 100,
                num_queries=len(aps))


def knn_accuracy(feat: torch.Tensor, pid: np.ndarray, cam: np.ndarray, k: int = 5) -> float:
    """Leave-one-out k-NN identity accuracy (%), neighbours from other cameras only.

    Same-camera neighbours are excluded: in a video-built set they are adjacent frames, which even a
    random encoder matches. Each image votes over its ``k`` most cosine-similar images of other cameras
    (votes weighted by similarity); images without a same-identity image in another camera are skipped.
    """
    sim = F.normalize(feat, dim=1) @ F.normalize(feat, dim=1).T
    sim = sim.numpy()
    correct = total = 0
    for i in range(len(pid)):
        other = cam != cam[i]
        if not (other & (pid == pid[i])).any():
            continue
        idx = np.flatnonzero(other)
        top = idx[np.argsort(-sim[i, idx], kind='stable')[:k]]
        votes: Dict[int, float] = {}
        for j in top:
            votes[int(pid[j])] = votes.get(int(pid[j]), 0.0) + float(sim[i, j])
        correct += int(max(votes, key=votes.get) == pid[i])
        total += 1
    if not total:
        raise ValueError('k-NN accuracy needs identities seen in at least two cameras')
    return correct / total * 100


def all_queries_figures(feat: torch.Tensor, pid: np.ndarray, cam: np.ndarray) -> Dict[str, float]:
    """Every image of the set a query against all the others: ``all_R1``, ``all_mAP`` (%) and
    ``all_queries``; empty when no identity is seen in two cameras.

    The query split of a small set is a few images per identity (the video set: 15 queries, one = 6.7
    points of R1); here each of its N images (train, query and gallery parts; no labels are trained
    on) is one, so the figure moves by 1 / N per image. As in ``knn_accuracy`` and the Market-1501
    protocol, the images of the query's identity in its own camera (the query itself and, in a
    video-built set, its adjacent frames) are removed from its gallery.

    Args:
        feat (Tensor): ``(N, C)`` features.
        pid, cam (np.ndarray): ``(N,)`` identities and cameras.
    """
    cmc, aps = rank_queries(feat, feat, pid, pid, cam, cam, camera_filter=True)
    if not aps:
        return {}
    return dict(all_R1=float(np.mean([c[0] for c in cmc])) * 100, all_mAP=float(np.mean(aps)) * 100,
                all_queries=len(aps))


CSM_KEYS = ('csm_bottleneck', 'csm_teacher_entropy')


@METRICS.register_module()
class PretrainRetrievalMetric(BaseMetric):
    """Retrieval figures of a pretraining student on a Market-layout set (``Market1501Dataset(split='all')``).

    Reported (prefix ``retrieval/``):

    * ``R1``, ``mAP``: query against gallery at scale 1.0 (camera-filtered: same identity and camera
      removed, the Market-1501 protocol);
    * ``all_R1``, ``all_mAP``, ``all_queries``: every image of the set (all parts) a query against all
      the others at scale 1.0, its identity's images of its own camera removed
      (``all_queries_figures``): the same retrieval with ~20× the queries of a small query split;
    * ``xs_R1``, ``xs_mAP``: cross-scale, queries at the smallest scale against the gallery at the
      largest and the reverse, averaged (each direction also as ``R1_q{s}_g{t}`` / ``mAP_q{s}_g{t}``);
    * ``scale_cos``: mean cosine similarity of one image's features at every pair of scales;
    * ``pair_cos``: mean cosine similarity of the features of two different images (scale 1.0): how
      alike all features are. ``scale_cos`` means something only well above it; a ``pair_cos`` that
      rises towards 1 during training is a collapse;
    * ``knn``: leave-one-out k-NN accuracy on the train part (``knn_accuracy``), when present;
    * ``csm_bottleneck_cos``, ``csm_teacher_entropy``: with a CSM objective, the mean pairwise cosine of
      the student's bottleneck features and the mean entropy / ln K of the expert's targets (centring
      caught up on each batch) on these images; read against the same figures at iteration 0
      (``ValBeforeTrainHook``): a teacher entropy that stays there is the random teacher's.

    Data samples need ``pred_feature`` (C,), ``pred_scale_features`` (S, C), the metainfo
    ``eval_scales``, ``camid``, ``subset`` (``'train'``/``'query'``/``'gallery'``) or ``is_query``,
    and ``gt_label`` (``SAIP`` in ``predict`` mode gives the features).

    Args:
        knn_k (int): Neighbours of the k-NN vote. Defaults to 5.
        camera_filter (bool): Remove same-identity same-camera gallery images. Defaults to True.
        collect_device (str): Defaults to 'cpu'.
        prefix (str, optional): Defaults to ``'retrieval'``.
    """
    default_prefix: Optional[str] = 'retrieval'

    def __init__(self, knn_k: int = 5, camera_filter: bool = True, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device, prefix)
        self.knn_k = knn_k
        self.camera_filter = camera_filter

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            for key in ('pred_scale_features', 'eval_scales', 'camid'):
                if key not in sample:
                    raise KeyError(f'PretrainRetrievalMetric needs "{key}" in the data samples (SAIP '
                                   f'predict mode and PackInputs meta_keys with camid / subset)')
            label = sample['gt_label']
            label = label['label'] if isinstance(label, dict) else label
            subset = sample.get('subset', 'query' if sample.get('is_query') else 'gallery')
            self.results.append(dict(feats=sample['pred_scale_features'].detach().float().cpu(),
                                     scales=[float(s) for s in sample['eval_scales']],
                                     pid=int(torch.as_tensor(label).reshape(-1)[0]),
                                     cam=int(sample['camid']), subset=subset,
                                     **{k: sample[f'pred_{k}'].detach().float().cpu() for k in CSM_KEYS
                                        if f'pred_{k}' in sample}))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        scales = results[0]['scales']
        feats = torch.stack([r['feats'] for r in results])  # (N, S, C)
        pid = np.array([r['pid'] for r in results])
        cam = np.array([r['cam'] for r in results])
        subset = np.array([r['subset'] for r in results])
        q, g = subset == 'query', subset == 'gallery'
        if not q.any() or not g.any():
            raise ValueError(f'retrieval evaluation needs queries and a gallery, got {q.sum()} queries and '
                             f'{g.sum()} gallery images')
        base = scales.index(1.0)

        def ranks(qs: int, gs: int) -> Dict[str, float]:
            return rank1_map(feats[q, qs], feats[g, gs], pid[q], pid[g], cam[q], cam[g],
                             self.camera_filter)

        metrics = ranks(base, base)
        metrics.update(all_queries_figures(feats[:, base], pid, cam))
        lo, hi = int(np.argmin(scales)), int(np.argmax(scales))
        if lo != hi:
            for a, b in ((lo, hi), (hi, lo)):
                m = ranks(a, b)
                for key in ('R1', 'mAP'):
                    metrics[f'{key}_q{scales[a]:g}_g{scales[b]:g}'] = m[key]
            for key in ('R1', 'mAP'):
                metrics[f'xs_{key}'] = float(np.mean([metrics[f'{key}_q{scales[a]:g}_g{scales[b]:g}']
                                                      for a, b in ((lo, hi), (hi, lo))]))
            unit = F.normalize(feats, dim=-1)
            metrics['scale_cos'] = float(torch.stack(
                [(unit[:, a] * unit[:, b]).sum(-1) for a, b in combinations(range(len(scales)), 2)]).mean())
        metrics['pair_cos'] = float(mean_pairwise_cosine(feats[:, base]))
        train = subset == 'train'
        if train.any():
            metrics['knn'] = knn_accuracy(feats[train, base], pid[train], cam[train], self.knn_k)
        if 'csm_bottleneck' in results[0]:  # CSM's collapse diagnostics (CSM.diagnostics)
            metrics['csm_bottleneck_cos'] = float(mean_pairwise_cosine(
                torch.stack([r['csm_bottleneck'] for r in results])))
            entropy = torch.stack([r['csm_teacher_entropy'] for r in results])
            metrics['csm_teacher_entropy'] = float(entropy.mean())
        return metrics
