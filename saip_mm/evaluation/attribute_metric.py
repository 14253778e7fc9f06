"""Pedestrian attribute recognition metrics: label-based mA and instance-based accuracy / P / R / F1."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from saip_mm.registry import METRICS


@METRICS.register_module()
class AttributeMetric(BaseMetric):
    """The pedestrian-attribute protocol (PA100K, PETA, RAP).

    * ``mA``: mean over attributes of the mean of the positive and the negative recall;
    * ``Acc``, ``Prec``, ``Rec``, ``F1``: instance-based (intersection over union of predicted and true
      attribute sets, averaged over images; F1 from the mean precision and recall).

    Data samples must carry ``pred_score`` (per-attribute probabilities) and ``gt_label`` (positive
    attribute indices, as mmpretrain's multi-label datasets give) or ``gt_score`` (0/1 vector).

    Args:
        thr (float): Probability threshold for a positive prediction. Defaults to 0.5.
        collect_device (str): Device for collecting results across ranks. Defaults to 'cpu'.
        prefix (str, optional): Metric prefix. Defaults to ``'attribute'``.
    """
    default_prefix: Optional[str] = 'attribute'

    def __init__(self, thr: float = 0.5, collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device, prefix)
        self.thr = thr

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            score = sample['pred_score'].detach().float().cpu()
            if 'gt_score' in sample:
                target = sample['gt_score'].cpu() > 0.5
            else:
                target = torch.zeros(score.numel(), dtype=torch.bool)
                target[sample['gt_label'].long().cpu()] = True
            self.results.append(dict(pred=(score >= self.thr).numpy(), gt=target.numpy()))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        pred = np.stack([r['pred'] for r in results])
        gt = np.stack([r['gt'] for r in results])
        return attribute_metrics(pred, gt)


def attribute_metrics(pred: np.ndarray, gt: np.ndarray, eps: float = 1e-20) -> Dict[str, float]:
    """Metrics (in %) from boolean ``(N, A)`` predictions and targets."""
    pos, neg = gt.sum(0), (~gt).sum(0)
    tp, tn = (pred & gt).sum(0), (~pred & ~gt).sum(0)
    label_ma = (tp / (pos + eps) + tn / (neg + eps)) / 2
    inter, union = (pred & gt).sum(1), (pred | gt).sum(1)
    acc = np.mean(inter / (union + eps))
    prec = np.mean(inter / (pred.sum(1) + eps))
    rec = np.mean(inter / (gt.sum(1) + eps))
    f1 = 2 * prec * rec / (prec + rec + eps)
    return dict(mA=float(label_ma.mean()) * 100, Acc=float(acc) * 100, Prec=float(prec) * 100,
                Rec=float(rec) * 100, F1=float(f1) * 100)
