"""StarNet-S3, TinyViT-5M and the token adapter that lets convolutional / hybrid encoders drive SAIP."""
import os.path as osp
import sys

import pytest
import torch
from cfg_paths import DEMO_CFG, ROOT
from cfg_paths import SMALL_PRETRAIN as PRETRAIN
from mmengine.config import Config

from saip_mm.models.backbones import SAIPTinyViT, StarNet


def _adapter(name='starnet'):
    from mmengine.registry import DefaultScope

    from saip_mm.registry import MODELS
    cfg = Config.fromfile(osp.join(ROOT, PRETRAIN[name])).model.backbone
    with DefaultScope.overwrite_default_scope('saip_mm'):
        return MODELS.build(cfg)


def test_starnet_s3_parameter_count_and_strides():
    with_head = sum(p.numel() for p in StarNet('s3', num_classes=1000).parameters())
    assert 5.7e6 < with_head < 5.8e6  # the paper's 5.8 M (with the ImageNet classifier)
    outs = StarNet('s3', out_indices=(0, 1, 2, 3)).eval()(torch.randn(1, 3, 256, 128))
    assert [tuple(o.shape[1:]) for o in outs] == [(32, 64, 32), (64, 32, 16), (128, 16, 8), (256, 8, 4)]
    with pytest.raises(KeyError, match="unknown StarNet arch 's9'"):
        StarNet('s9')


def test_tinyvit_5m_parameter_count_and_any_input_size():
    body = sum(p.numel() for p in SAIPTinyViT(out_indices=(3, )).parameters())
    assert 5.35e6 < body + 320 * 1000 + 1000 < 5.45e6  # the paper's 5.4 M (with a 1000-way classifier)
    model = SAIPTinyViT(out_indices=(0, 1, 2, 3)).eval()
    for size in ((256, 128), (320, 160), (192, 96)):  # built for 256x128; SAIP views vary per step
        outs = model(torch.randn(1, 3, *size))
        assert [tuple(o.shape[-2:]) for o in outs] == [(size[0] // s, size[1] // s) for s in (8, 16, 32, 32)]
    assert model.train() is model


@pytest.mark.parametrize('name', ['starnet', 'tinyvit'])
def test_adapter_tokens_match_the_vit_contract(name):
    torch.manual_seed(0)
    model = _adapter(name).eval()
    out = model.forward_tokens(torch.randn(2, 3, 320, 160))
    assert out['grid'] == (20, 10) and out['keep'] is None
    assert out['final'][0].shape == (2, 192) and out['final'][1].shape == (2, 200, 192)
    with pytest.raises(ValueError, match='multiple of 16'):
        model.forward_tokens(torch.randn(1, 3, 250, 128))


@pytest.mark.parametrize('name', ['starnet', 'tinyvit'])
def test_masked_pixels_do_not_reach_the_tokens(name):
    torch.manual_seed(0)
    model = _adapter(name).eval()
    x = torch.randn(2, 3, 256, 128)
    mask = torch.zeros(2, 128, dtype=torch.bool)
    mask[:, torch.randperm(128)[:96]] = True
    out = model.forward_tokens(x, mask=mask)
    assert out['final'][1].shape == (2, 32, 192) and out['keep'].shape == (2, 32)
    # replace every masked patch's pixels: no output may change
    pix = mask.view(2, 1, 16, 8).repeat_interleave(16, 2).repeat_interleave(16, 3).expand_as(x)
    other = torch.where(pix, torch.randn_like(x) * 10, x)
    out2 = model.forward_tokens(other, mask=mask)
    assert torch.equal(out['final'][1], out2['final'][1]) and torch.equal(out['final'][0], out2['final'][0])
    # and the visible pixels do matter
    out3 = model.forward_tokens(torch.where(pix, x, x + 1), mask=mask)
    assert not torch.allclose(out['final'][1], out3['final'][1])
    # every stage output is empty (zero) where all of its stride-16 cells are masked
    seen = []
    stage = model.encoder.stages[1 if name == 'starnet' else 0]
    remasked = model.remasked  # what each stage passes on: its output re-masked

    def record(visible, module, out):
        seen.append((module, remasked(visible, module, out)))
        return seen[-1][1]

    model.remasked = record
    only_first = torch.ones(2, 128, dtype=torch.bool)
    only_first[:, 0] = False
    model.forward_tokens(x, mask=only_first)
    del model.remasked
    stage1 = next(out for module, out in seen if module is stage)  # StarNet stage 1 (stride 8) or TinyViT
    # stage 0 (ends at stride 8): 32x16 cells
    if stage1.dim() == 3:  # TinyViT tokens (B, H*W, C)
        stage1 = stage1.transpose(1, 2).reshape(2, -1, 32, 16)
    assert stage1.shape[-2:] == (32, 16)
    assert stage1[..., :2, :2].abs().sum() > 0
    assert stage1[..., 2:, :].abs().sum() == 0 and stage1[..., :, 2:].abs().sum() == 0


@pytest.mark.slow
@pytest.mark.parametrize('name', ['starnet', 'tinyvit'])
def test_saip_step(root, name):
    """One full SAIP training step (CSM + CSR + CSS) with the StarNet-S3 / TinyViT-5M student on real
    crops: all losses finite, the student changes, the EMA expert only through its update."""
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope

    from saip_mm.registry import DATASETS, MODELS
    cfg = Config.fromfile(osp.join(root, DEMO_CFG))
    cfg.model.backbone = Config.fromfile(osp.join(root, PRETRAIN[name])).model.backbone
    cfg.train_dataloader.dataset.data_root = osp.join(root, cfg.train_dataloader.dataset.data_root)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('saip_mm'):
        model = MODELS.build(cfg.model)
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
    model.init_weights()
    batch = pseudo_collate([dataset[i] for i in range(4)])
    optim = build_optim_wrapper(model, dict(optimizer=dict(type='AdamW', lr=1e-3)))
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    expert_before = {k: v.clone() for k, v in model.expert.module.backbone.named_parameters()}
    log = model.train_step(batch, optim)
    assert {'loss_csm', 'loss_csr', 'loss_css'} <= set(log)
    assert all(torch.isfinite(v) for v in log.values())
    after = model.backbone.state_dict()
    changed = [k for k in before if k.endswith('weight') and not torch.equal(before[k], after[k])]
    assert len(changed) > 0.5 * sum(k.endswith('weight') for k in before), changed
    expert_after = dict(model.expert.module.backbone.named_parameters())
    assert all(torch.equal(v, expert_after[k]) for k, v in expert_before.items())


@pytest.mark.parametrize('name', ['starnet', 'tinyvit'])
def test_export_reloads_with_zero_missing_keys(tmp_path, name):
    sys.path.insert(0, osp.join(ROOT, 'tools', 'model_converters'))
    from saip2backbone import main as export
    adapter = _adapter(name)
    # the layout of a SAIP run: student, EMA expert (a copy of the student) and an objective head
    state = {'backbone.' + k: v for k, v in adapter.state_dict().items()}
    state.update({'expert.module.' + k: v.clone() for k, v in state.items()})
    state['objectives.csm.head.last_layer.weight'] = torch.zeros(8, 4)
    torch.save(dict(state_dict=state), tmp_path / 's.pth')
    out = export([str(tmp_path / 's.pth'), str(tmp_path / 'b.pth')])
    assert not any('patch_proj' in k or 'global_neck' in k for k in out)
    net = StarNet('s3', out_indices=(0, 1, 2, 3)) if name == 'starnet' else SAIPTinyViT(out_indices=(1, 3))
    result = net.load_state_dict({k[len('backbone.'):]: v for k, v in out.items()}, strict=False)
    assert result.missing_keys == [] and result.unexpected_keys == []


def test_small_backbones_refuse_a_vit_checkpoint(saip_backbone):
    init = dict(type='Pretrained', checkpoint=saip_backbone[0], prefix='backbone.')
    with pytest.raises(KeyError, match=r'lacks \d+ backbone tensor\(s\).*stem\.0\.0\.weight'):
        StarNet('s3', out_indices=(3, ), init_cfg=init).init_weights()
    with pytest.raises(KeyError, match=r'lacks \d+ backbone tensor\(s\).*patch_embed'):
        SAIPTinyViT(out_indices=(3, ), init_cfg=init).init_weights()


@pytest.mark.slow
def test_benchmark_row_for_a_lightweight_preset():
    """The benchmark's per-preset measurement runs for the new backbones and reports their size."""
    sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
    from benchmark_pretrain import parse_args, run_one
    row = run_one('starnet-s3', 2, parse_args(['--steps', '1', '--data-samples', '2', '--device', 'cpu',
                                               '--shape-batches', '5']))
    assert 5.4 < row['backbone_mparams'] < 5.6  # StarNet-S3 without its classifier
    assert row['encoder_gflop_256x128'] > 0 and row['gflop_per_step'] > row['encoder_gflop_256x128']
    assert row['s_per_step'] > 0 and row['peak_mem_gb'] > 0
    assert 1 <= row['distinct_shapes'] <= 6 and row['shape_batches'] == 5
