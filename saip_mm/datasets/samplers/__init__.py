from .weighted_sampler import WeightedPersonSampler

__all__ = ['WeightedPersonSampler']
