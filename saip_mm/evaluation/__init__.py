"""Metrics registered in saip_mm (downstream metrics live here)."""
from .attribute_metric import AttributeMetric
from .reid_metric import ReIDRankMetric

__all__ = ['AttributeMetric', 'ReIDRankMetric']
