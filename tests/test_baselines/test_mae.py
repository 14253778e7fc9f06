"""MAE and MAE+DINO baselines (configs/baselines/mae, mae_dino): compositions of SAIP's units. MAE is
CSR with no anchor and no expert: the student encodes the visible patches, a self-attention decoder
predicts the masked ones, and the per-patch-normalised MSE reads the masked patches only. MAE+DINO adds
that loss, on the second global crop, to DINO's."""
import os.path as osp

import pytest
import torch
from baseline_utils import (
    assert_losses_fall,
    export_loads_into_vitpose,
    losses_on_repeated_batch,
    model_and_data,
    short_run,
)
from cfg_paths import ROOT
from mmengine.config import Config

from saip_mm.models.utils.masking import masked_indices
from saip_mm.models.utils.pos_embed import patchify
from saip_mm.registry import MODELS

MAE = 'configs/baselines/mae/mae_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py'
HUMAN = 'configs/baselines/mae/mae-human-prior_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py'
MAE_DEMO = 'configs/baselines/mae/mae_vit-tiny-p16_1xb8-100it_demo-persons.py'
MAE_DINO = 'configs/baselines/mae_dino/mae-dino_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py'
MAE_DINO_DEMO = 'configs/baselines/mae_dino/mae-dino_vit-tiny-p16_1xb8-100it_demo-persons.py'


def _crop(cfg):
    return cfg.train_dataloader.dataset.pipeline[0]


def test_mae_configs_are_csr_without_anchor_or_expert():
    for path in (MAE, HUMAN, MAE_DEMO):
        cfg = Config.fromfile(osp.join(ROOT, path))
        m = cfg.model
        assert m.csm is None and m.css is None and m.expert is None
        assert (m.csr.kv, m.csr.query_encoder, m.csr.level) == ('none', 'student', 'final')
        assert (m.csr.neck.layout, m.csr.neck.memory, m.csr.head.norm_pix) == ('self', False, True)
        assert 'ExpertEMAHook' not in {h.type for h in cfg.custom_hooks}
    mae, human = (Config.fromfile(osp.join(ROOT, p)) for p in (MAE, HUMAN))
    assert (mae.model.csr.mask_ratio, mae.model.csr.mask_type) == (0.75, 'random')
    assert _crop(mae).crop_ratio_range == (0.2, 1.0) and _crop(mae).scale == (256, 128)
    # HAP's human structure priors: 50 % block-wise masks, 80 % scaling ratio
    assert (human.model.csr.mask_ratio, human.model.csr.mask_type) == (0.5, 'block')
    assert _crop(human).crop_ratio_range == (0.8, 1.0)
    # one image per sample, no views to encode in full: the student sees only the visible patches
    _, model, batch = model_and_data(MAE_DEMO, 2)
    assert set(model.data_preprocessor(batch, True)['inputs']) == {'anchor'}
    assert model.objectives['csr'].student_views(1) == [] and model.expert is None and not model.expert_proj


def test_mae_options_that_disagree_are_refused():
    cfg = Config.fromfile(osp.join(ROOT, MAE_DEMO)).model
    with pytest.raises(ValueError, match=r"model.expert=None, but model.csm \(its teacher\)"):
        MODELS.build(dict(cfg, csm=Config.fromfile(osp.join(ROOT, MAE_DINO_DEMO)).model.csm))
    with pytest.raises(ValueError, match="model.csr.kv='none' needs model.csr.neck.memory=False"):
        MODELS.build(dict(cfg, csr=dict(cfg.csr, neck=dict(cfg.csr.neck, memory=True))))
    with pytest.raises(ValueError, match="needs layout='self'"):
        MODELS.build(dict(cfg.csr.neck, layout='cross'))
    from saip_mm.engine.hooks.expert_ema_hook import ExpertEMAHook

    class _Runner:
        model = MODELS.build(cfg)
    with pytest.raises(ValueError, match='has no expert.*remove the hook'):
        ExpertEMAHook().before_train(_Runner)


def _csr(model, images):
    """CSR's decoder pass on ``images`` (anchor, views) with the mask drawn by the objective."""
    return model.objectives['csr'].forward(model.new_step(dict(anchor=images[0], views=images[1:])))


def test_mae_loss_reads_the_masked_patches_only():
    """The loss is the per-patch-normalised MSE over the masked patches: recomputed by hand from the
    decoder's predictions, unchanged when the visible patches' targets change, changed when a masked
    patch's target changes; and the encoder never sees a masked pixel."""
    _, model, batch = model_and_data(MAE_DEMO, 4)
    model.eval()
    inputs = model.data_preprocessor(batch, True)['inputs']
    images = [inputs['anchor']]
    pred, target, mask = _csr(model, images)
    assert (mask.sum(1) == 96).all() and pred.shape == (4, 96, 16 * 16 * 3)
    loss = model.objectives['csr'].head.loss(pred, target, mask)
    patches = patchify(target, 16)
    norm = (patches - patches.mean(-1, keepdim=True)) / (patches.var(-1, keepdim=True) + 1e-6)**.5
    idx = masked_indices(mask)
    by_hand = ((pred - torch.gather(norm, 1, idx[..., None].expand(-1, -1, norm.shape[-1])))**2).mean()
    assert torch.allclose(loss, by_hand, rtol=1e-5)
    grid = (16, 8)
    pixel_mask = mask.view(4, 1, *grid).repeat_interleave(16, 2).repeat_interleave(16, 3)
    noise = torch.randn_like(target) * 3
    # the visible patches' targets: the loss does not read them
    visible_changed = torch.where(pixel_mask, target, noise)
    assert torch.equal(model.objectives['csr'].head.loss(pred, visible_changed, mask), loss)
    # a masked patch's target: it does
    masked_changed = torch.where(pixel_mask, noise, target)
    assert not torch.allclose(model.objectives['csr'].head.loss(pred, masked_changed, mask), loss)
    # the encoder sees the visible patches only: new masked pixels give the same predictions
    model.step.reset()
    again, _, mask2 = _csr(model, [masked_changed])
    assert torch.equal(mask2, mask) and torch.allclose(again, pred, atol=1e-6)


def test_mae_dino_sums_both_losses_on_the_second_global_crop():
    cfg = Config.fromfile(osp.join(ROOT, MAE_DINO))
    assert cfg.model.csm.teacher_views == [0, 1] and cfg.model.css is None
    assert cfg.model.expert.type == 'CosineEMAExpert'
    assert (cfg.model.csr.kv, cfg.model.csr.view_index, cfg.model.csr.mask_ratio) == ('none', 0, 0.75)
    _, model, batch = model_and_data(MAE_DINO_DEMO, 2)
    inputs = model.data_preprocessor(batch, True)['inputs']
    images = [inputs['anchor']] + inputs['views']
    model.eval()
    _, target, mask = _csr(model, images)
    assert torch.equal(target, inputs['views'][0]) and tuple(target.shape[-2:]) == (256, 128)
    assert (mask.sum(1) == 96).all()


@pytest.mark.slow
@pytest.mark.parametrize('config,terms', [(MAE_DEMO, {'loss_csr'}),
                                          (MAE_DINO_DEMO, {'loss_csm', 'loss_csr'})])
def test_mae_baselines_loss_falls_on_a_repeated_batch(config, terms):
    center = dict(**{'csm.head.center_momentum': 1.0}) if 'loss_csm' in terms else {}
    _, model, batch = model_and_data(config, 4, **center)
    logs = losses_on_repeated_batch(model, batch)
    assert {k for k in logs[-1] if k.startswith('loss_')} == terms
    assert_losses_fall(logs, terms | {'loss'})


@pytest.mark.slow
@pytest.mark.parametrize('config', [MAE_DEMO, MAE_DINO_DEMO])
def test_mae_baselines_train_under_the_runner_and_export(config, tmp_path):
    runner = short_run(config, str(tmp_path))
    scalars = runner.message_hub.log_scalars
    assert 'train/loss_csr' in scalars and ('train/loss_csm' in scalars) == ('dino' in config)
    ckpt = torch.load(tmp_path / 'iter_3.pth', map_location='cpu')
    has_expert = any(k.startswith('expert.') for k in ckpt['state_dict'])
    assert has_expert == ('dino' in config)  # MAE carries no teacher
    export_loads_into_vitpose(str(tmp_path / 'iter_3.pth'), str(tmp_path / 'backbone.pth'),
                              runner.model.backbone.state_dict())
