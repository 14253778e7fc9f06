"""Metrics registered in saip_mm (downstream metrics live here)."""
from .attribute_metric import AttributeMetric
from .reid_metric import ReIDRankMetric
from .retrieval_metric import PretrainRetrievalMetric, knn_accuracy, rank1_map
from .xscale_person_metric import CrossScalePersonMetric

__all__ = ['AttributeMetric', 'CrossScalePersonMetric', 'PretrainRetrievalMetric', 'ReIDRankMetric',
           'knn_accuracy', 'rank1_map']
