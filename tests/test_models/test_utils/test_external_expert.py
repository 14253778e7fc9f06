"""SAIP*: a frozen pretrained expert encoder with a learned projection to the decoders' width."""
import os.path as osp
import sys

import pytest
import torch
from cfg_paths import DEMO_CFG
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from saip_mm.engine.hooks import resolve_schedules
from saip_mm.registry import DATASETS, MODELS

DEMO = DEMO_CFG
STAR = 'configs/pretrain/saip-vit-base-expert_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py'


@pytest.fixture(scope='module')
def expert_ckpt(tmp_path_factory):
    """A ViT-Small checkpoint as mmpretrain writes one (``backbone.`` keys, 14x14 grid at 224)."""
    from mmpretrain.models import VisionTransformer
    torch.manual_seed(1)
    vit = VisionTransformer(arch='deit-small', img_size=224, patch_size=16)
    vit.init_weights()
    path = tmp_path_factory.mktemp('expert') / 'vit-small.pth'
    torch.save(dict(state_dict={'backbone.' + k: v for k, v in vit.state_dict().items()}), path)
    return str(path), vit.state_dict()


def _model(root, ckpt, backbone_cfg=None):
    cfg = Config.fromfile(osp.join(root, DEMO))
    star = Config.fromfile(osp.join(root, STAR)).model.expert
    star.encoder.arch = 'deit-small'
    star.checkpoint = ckpt
    cfg.model.expert = star
    if backbone_cfg is not None:
        cfg.model.backbone = backbone_cfg
    cfg.train_dataloader.dataset.data_root = osp.join(root, cfg.train_dataloader.dataset.data_root)
    with DefaultScope.overwrite_default_scope('saip_mm'):
        model = MODELS.build(cfg.model)
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
    model.init_weights()
    return model, dataset


def test_paper_config_builds_a_vit_base_expert(root):
    cfg = Config.fromfile(osp.join(root, STAR))
    with DefaultScope.overwrite_default_scope('saip_mm'):
        model = MODELS.build(cfg.model)
    assert model.expert.width == 768
    # one learned projection per token level: final-norm tokens (CSM) and block-7 tokens (CSR, CSS)
    assert set(model.expert_proj) == {'final', 'mid'}
    assert model.expert_proj['final'] is not model.expert_proj['mid']
    assert all(p[0].weight.shape == (192, 768) for p in model.expert_proj.values())
    with pytest.raises(FileNotFoundError, match='expert_vit-base.pth'):
        model.init_weights()


@pytest.mark.slow
def test_expert_frozen_student_and_projection_learn(root, expert_ckpt):
    path, source = expert_ckpt
    torch.manual_seed(0)
    model, dataset = _model(root, path)
    encoder = model.expert.module.backbone.encoder
    for key, value in encoder.state_dict().items():  # loaded strictly; 14x14 grid resized to 16x8
        if key != 'pos_embed':
            assert torch.equal(value, source[key]), key
    batch = pseudo_collate([dataset[i] for i in range(4)])
    optim = build_optim_wrapper(model, dict(optimizer=dict(type='AdamW', lr=1e-3)))
    snap = lambda m: {k: v.detach().clone() for k, v in m.state_dict().items()}  # noqa: E731
    expert0, student0, proj0 = snap(encoder), snap(model.backbone), snap(model.expert_proj)
    head0 = snap(model.expert.module.csm_neck)
    model.train()
    resolve_schedules(model, 5, 5)
    for _ in range(5):
        log = model.train_step(batch, optim)
        model.update_expert()
        assert all(torch.isfinite(log[k]) for k in ('loss_csm', 'loss_csr', 'loss_css'))
    assert not encoder.training and all(not p.requires_grad for p in encoder.parameters())
    assert all(torch.equal(v, encoder.state_dict()[k]) for k, v in expert0.items())
    qkv = 'layers.0.attn.qkv.weight'
    assert not torch.equal(student0[qkv], model.backbone.state_dict()[qkv])
    # 'mid' (CSR queries, CSS canvas) learns through the decoders; 'final' only maps the CSM target,
    # which is detached (DINO), so it stays the fixed random projection it was initialised as
    proj = model.expert_proj.state_dict()
    assert not torch.equal(proj0['mid.0.weight'], proj['mid.0.weight'])
    assert torch.equal(proj0['final.0.weight'], proj['final.0.weight'])
    assert any(not torch.equal(v, model.expert.module.csm_neck.state_dict()[k]) for k, v in head0.items())


def test_export_leaves_the_expert_out(root, tmp_path, expert_ckpt):
    sys.path.insert(0, osp.join(root, 'tools', 'model_converters'))
    from saip2backbone import main as export
    model, _ = _model(root, expert_ckpt[0])
    torch.save(dict(state_dict=model.state_dict()), tmp_path / 'saip.pth')
    out = export([str(tmp_path / 'saip.pth'), str(tmp_path / 'b.pth')])
    assert set(out) == {'backbone.' + k for k in model.backbone.state_dict()}


def test_external_expert_with_a_starnet_student(root, expert_ckpt):
    star_cfg = 'configs/pretrain/saip_starnet-s3_8xb256-amp-coslr-300e_lup1m.py'
    star = Config.fromfile(osp.join(root, star_cfg)).model.backbone
    model, dataset = _model(root, expert_ckpt[0], star)
    optim = build_optim_wrapper(model, dict(optimizer=dict(type='AdamW', lr=1e-3)))
    log = model.train_step(pseudo_collate([dataset[i] for i in range(2)]), optim)
    assert all(torch.isfinite(log[k]) for k in ('loss_csm', 'loss_csr', 'loss_css'))


def test_expert_checkpoint_missing_keys_is_refused(root, tmp_path, expert_ckpt):
    state = torch.load(expert_ckpt[0], weights_only=True)['state_dict']
    del state['backbone.layers.2.ffn.layers.1.weight']
    torch.save(state, tmp_path / 'partial.pth')
    with pytest.raises(KeyError, match=r'lacks 1 backbone tensor\(s\).*layers\.2\.ffn\.layers\.1\.weight'):
        _model(root, str(tmp_path / 'partial.pth'))
