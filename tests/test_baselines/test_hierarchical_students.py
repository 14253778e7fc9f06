"""The baselines that run through the token adapter (DINO, MAE, MAE+DINO, HAP and SOLIDER on StarNet-S3
and TinyViT-5M): their configs swap the student only (SOLIDER: plus λ in the encoder and the
un-normalised mid tokens for its labels), and one training step on real demo crops gives finite losses
and gradients in the wrapped encoder."""
import os.path as osp

import pytest
import torch
from baseline_utils import losses_on_repeated_batch, model_and_data
from cfg_paths import ROOT
from mmengine.config import Config

METHODS = (('dino', 'dino'), ('mae', 'mae'), ('mae_dino', 'mae-dino'), ('hap', 'hap'), ('solider', 'solider'))
CONFIGS = [f'configs/baselines/{folder}/{name}_{student}_8xb256-amp-coslr-300e_lup1m.py'
           for folder, name in METHODS for student in ('starnet-s3', 'tinyvit-5m')]
# the loss terms of each algorithm besides its SAIP objectives
EXTRA_TERMS = {'HAP': {'loss_align'}, 'SOLIDER': {'loss_sem'}}
SMALLER = {'csm.neck.out_channels': 4096, 'csm.head.out_channels': 4096}


def _vit_config(config: str) -> Config:
    name = config.rsplit('_', 2)[0].rsplit('_', 1)[0] + '_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py'
    return Config.fromfile(osp.join(ROOT, name))


@pytest.mark.parametrize('config', CONFIGS)
def test_only_the_student_differs_from_the_vit_tiny_config(config):
    cfg = Config.fromfile(osp.join(ROOT, config))
    vit = _vit_config(config)
    assert cfg.model.type == vit.model.type
    assert cfg.model.backbone.type == 'TokenAdapter'
    assert cfg.model.backbone.encoder.type in ('StarNet', 'SAIPTinyViT')
    for key in ('csm', 'csr', 'css', 'expert', 'data_preprocessor', 'semantic', 'align'):
        assert cfg.model.get(key) == vit.model.get(key), key
    assert cfg.train_dataloader.dataset == vit.train_dataloader.dataset
    if cfg.model.type == 'SOLIDER':  # λ belongs to the encoder, at the ViT config's value
        assert cfg.model.backbone.encoder.semantic_weight == vit.model.backbone.semantic_weight
        assert cfg.model.backbone.mid == 'pre_norm'
    else:
        assert 'semantic_weight' not in cfg.model.backbone.encoder and 'mid' not in cfg.model.backbone


@pytest.mark.slow
@pytest.mark.parametrize('config', [c for c in CONFIGS if 'mae-dino' not in c])  # MAE+DINO = both parts
def test_hierarchical_baseline_trains_a_step(config):
    cfg = Config.fromfile(osp.join(ROOT, config))
    _, model, batch = model_and_data(config, 2, **(SMALLER if cfg.model.csm else {}))
    before = {k: v.clone() for k, v in model.backbone.encoder.state_dict().items()}
    log = losses_on_repeated_batch(model, batch, steps=1)[0]
    terms = {k for k in log if k.startswith('loss_')}
    assert terms == (({'loss_csm'} if cfg.model.csm else set()) | ({'loss_csr'} if cfg.model.csr else set())
                     | EXTRA_TERMS.get(cfg.model.type, set()))
    assert all(torch.isfinite(torch.tensor(log[k])) for k in terms | {'loss'}), log
    moved = [k for k, v in model.backbone.encoder.state_dict().items()
             if v.is_floating_point() and not torch.equal(v, before[k])]
    assert len(moved) > 10, moved
    if cfg.model.type == 'SOLIDER':  # the controller in the encoder learns too
        assert any(k.startswith('semantic_controller.') for k in moved), moved
