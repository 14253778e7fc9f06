"""DINO's per-tensor gradient clipping (issue 26 / 27): each tensor is clipped on its own, unlike
mmengine's global-norm clipping, through the real optimizer wrappers the configs build."""
import math
import os.path as osp

import pytest
import torch
from cfg_paths import ROOT
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from saip_mm.engine.optimizers import clip_grad_norm_per_tensor_
from saip_mm.utils.launcher import fall_back_from_amp


def _params(norms):
    params = []
    for n in norms:
        p = torch.nn.Parameter(torch.zeros(4))
        p.grad = torch.tensor([n, 0., 0., 0.])
        params.append(p)
    return params


def test_each_tensor_is_clipped_alone():
    big, small = _params([6.0, 1.0])
    total = clip_grad_norm_per_tensor_([big, small], max_norm=3.0)
    assert float(total) == pytest.approx(math.sqrt(37))  # the global norm before clipping
    assert float(big.grad.norm()) == pytest.approx(3.0, rel=1e-5)  # 6 -> 3
    assert float(small.grad.norm()) == 1.0  # under the limit: untouched
    big, small = _params([6.0, 1.0])
    torch.nn.utils.clip_grad_norm_([big, small], max_norm=3.0)  # mmengine's default: one factor
    assert float(small.grad.norm()) == pytest.approx(3 / math.sqrt(37), rel=1e-5)


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Linear(8, 1))


def test_the_wrapper_clips_per_tensor_and_keeps_the_global_norm():
    model = _model()
    wrapper = build_optim_wrapper(model, dict(
        type='saip_mm.PerTensorClipOptimWrapper', optimizer=dict(type='SGD', lr=0.0),
        clip_grad=dict(type='per_tensor', max_norm=0.05)))
    loss = (model(torch.randn(16, 8) * 10) ** 2).mean()
    wrapper.backward(loss)
    before = [float(p.grad.norm()) for p in model.parameters()]
    assert max(before) > 0.05 and min(before) < 0.05 * 10
    wrapper._clip_grad()
    after = [float(p.grad.norm()) for p in model.parameters()]
    for b, a in zip(before, after):
        assert a == pytest.approx(min(b, 0.05), rel=1e-4)
    # the global norm before clipping, kept on the device (DeferredRuntimeInfoHook logs it), taken once
    norm = wrapper.take_grad_norm()
    assert isinstance(norm, torch.Tensor) and wrapper.take_grad_norm() is None
    assert float(norm) == pytest.approx(math.sqrt(sum(b * b for b in before)), rel=1e-4)
    with pytest.raises(ValueError, match="type='per_tensor' takes max_norm"):
        build_optim_wrapper(model, dict(type='saip_mm.PerTensorClipOptimWrapper',
                                               optimizer=dict(type='SGD', lr=0.1),
                                               clip_grad=dict(type='per_tensor', max_nrom=3.0)))


def test_global_clipping_stays_available_and_amp_falls_back(monkeypatch):
    model = _model()
    wrapper = build_optim_wrapper(model, dict(
        type='saip_mm.PerTensorClipOptimWrapper', optimizer=dict(type='SGD', lr=0.1),
        clip_grad=dict(max_norm=3.0)))
    assert wrapper.clip_func is torch.nn.utils.clip_grad_norm_
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = Config(dict(optim_wrapper=dict(type='PerTensorClipAmpOptimWrapper', loss_scale='dynamic',
                                         clip_grad=dict(type='per_tensor', max_norm=3.0))))
    with pytest.warns(UserWarning, match='PerTensorClipAmpOptimWrapper -> PerTensorClipOptimWrapper'):
        fall_back_from_amp(cfg)
    assert cfg.optim_wrapper.type == 'PerTensorClipOptimWrapper' and 'loss_scale' not in cfg.optim_wrapper


def test_with_amp_maps_each_wrapper_to_its_twin():
    """One mapping for tools/train.py --amp, the CPU fall-back, learning_check and the benchmarks: the
    optimizer and clipping stay, the loss scale comes and goes with AMP."""
    from saip_mm.utils.launcher import with_amp
    cfg = Config.fromfile(osp.join(ROOT, 'configs/pretrain/saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py'))
    fp32 = with_amp(cfg.optim_wrapper, amp=False)
    assert fp32['type'] == 'PerTensorClipOptimWrapper' and 'loss_scale' not in fp32
    assert fp32['optimizer'] == cfg.optim_wrapper.optimizer
    assert fp32['clip_grad'] == cfg.optim_wrapper.clip_grad
    assert cfg.optim_wrapper.type == 'PerTensorClipAmpOptimWrapper'  # a copy: the config is unchanged
    back = with_amp(fp32, amp=True)
    assert back['type'] == 'PerTensorClipAmpOptimWrapper' and back['loss_scale'] == 'dynamic'
    assert with_amp(dict(optimizer=dict(type='SGD')), amp=True)['type'] == 'AmpOptimWrapper'
    with pytest.raises(ValueError, match='optim_wrapper.type ApexOptimWrapper has no AMP / fp32 twin'):
        with_amp(dict(type='ApexOptimWrapper'), amp=False)
