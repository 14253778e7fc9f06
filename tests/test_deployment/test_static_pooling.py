"""Adaptive average pooling written as fixed slices for export (saip_mm/deployment/static_pooling.py):
the same values as PyTorch's adaptive pooling for divisible and non-divisible sizes, placed where a model
has one, at the size it sees there, and refused at another size."""
import pytest
import torch
import torch.nn as nn

from saip_mm.deployment.static_pooling import StaticAdaptiveAvgPool2d, static_adaptive_pools


@pytest.mark.parametrize('size', [(15, 15), (16, 12), (7, 30)])
@pytest.mark.parametrize('out', [(1, 1), (2, 2), (3, 3), (6, 6), (2, 5)])
def test_static_pooling_equals_adaptive_pooling(size, out):
    x = torch.randn(2, 4, *size)
    expected = nn.functional.adaptive_avg_pool2d(x, out)
    got = StaticAdaptiveAvgPool2d(out, size)(x)
    assert got.shape == expected.shape and torch.allclose(got, expected, atol=1e-6)


def test_model_pools_are_fixed_at_the_size_they_see():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(6),
                          nn.Flatten(), nn.Linear(8 * 36, 5))
    x = torch.randn(2, 3, 33, 25)
    before = model(x)
    sizes = static_adaptive_pools(model, x)
    assert sizes == {'2': (16, 12)} and isinstance(model[2], StaticAdaptiveAvgPool2d)
    assert torch.allclose(model(x), before, atol=1e-6)
    with pytest.raises(ValueError, match=r'sized for \(16, 12\), got \(17, 12\)'):
        model(torch.randn(2, 3, 35, 25))
    assert static_adaptive_pools(nn.Linear(2, 2), torch.randn(1, 2)) == {}  # nothing to replace
