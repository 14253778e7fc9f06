"""PersonViT baseline (configs/baselines/personvit): DINO whose student sees its global crops masked
(block-wise, a learned mask token), plus the masked patch self-distillation of eq. 7. The patch loss
reads the masked positions only; the mask token hides the masked pixels; under the Runner both
prototype layers stay frozen in the freeze period and both teacher temperatures warm up; the loss falls
on a repeated batch; the checkpoint exports and loads into the ViTPose config."""
import os.path as osp

import pytest
import torch
from baseline_utils import (
    assert_losses_fall,
    export_loads_into_vitpose,
    held_randomness_logs,
    model_and_data,
    short_run,
)
from cfg_paths import ROOT, SMALL_PRETRAIN
from mmengine.config import Config
from mmengine.hooks import Hook

from saip_mm.models.utils.tokens import encode_views
from saip_mm.registry import MODELS

FULL = 'configs/baselines/personvit/personvit_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py'
DEMO = 'configs/baselines/personvit/personvit_vit-tiny-p16_1xb8-100it_demo-persons.py'


def test_personvit_config_is_dino_plus_masked_patch_distillation():
    cfg = Config.fromfile(osp.join(ROOT, FULL))
    assert cfg.model.type == 'PersonViT' and cfg.model.csm.teacher_views == [0, 1]
    assert cfg.model.mim.head.type == 'PatchDistillHead' and cfg.model.mim.head.loss_weight == 1.0
    assert cfg.model.csm.head.get('loss_weight', 1.0) == 1.0  # lambda1 = lambda2 = 1
    assert 'ExpertEMAHook' in {h.type for h in cfg.custom_hooks}
    assert cfg.model.mim.neck.freeze_last_layer == cfg.model.csm.neck.freeze_last_layer  # both frozen alike
    assert cfg.model.mim.head.teacher_temp == cfg.model.csm.head.teacher_temp  # both warmed up alike
    assert cfg.model.mim.head.teacher_temp.type == 'LinearWarmup'
    _, model, _ = model_and_data(DEMO, 1)
    # the teacher mirrors the patch projector; the mask token is the algorithm's, not the backbone's
    assert hasattr(model.expert.module, 'mim_neck') and 'mask_token' not in model.backbone.state_dict()
    masks = model.objectives['mim'].draw_masks(400, (16, 8), torch.Generator().manual_seed(0))
    counts = masks.sum(1)
    masked = counts > 0
    assert 0.4 < masked.float().mean() < 0.6  # mask_prob 0.5
    assert counts[masked].min() >= round(0.1 * 128) and counts.max() <= round(0.5 * 128)
    assert len(set(counts[masked].tolist())) > 20  # a ratio per image


def test_personvit_refuses_a_student_without_mask_token():
    cfg = Config.fromfile(osp.join(ROOT, DEMO)).model
    starnet = Config.fromfile(osp.join(ROOT, SMALL_PRETRAIN['starnet'])).model.backbone
    with pytest.raises(ValueError, match='takes none \\(use SAIPViT\\)'):
        MODELS.build(dict(cfg, backbone=starnet))


def test_mask_token_hides_the_masked_pixels():
    _, model, batch = model_and_data(DEMO, 2)
    model.eval()
    image = model.data_preprocessor(batch, True)['inputs']['anchor']
    mask = torch.zeros(2, 128, dtype=torch.bool)
    mask[0, 40:70] = True
    mask[1, :10] = True  # rows may mask different numbers
    out = model.backbone.forward_tokens(image, mask=mask, mask_token=model.mask_token)
    assert out['keep'] is None and out['final'][1].shape == (2, 128, 192)
    pixels = mask.view(2, 1, 16, 8).repeat_interleave(16, 2).repeat_interleave(16, 3)
    other = torch.where(pixels, torch.randn_like(image), image)
    again = model.backbone.forward_tokens(other, mask=mask, mask_token=model.mask_token)
    assert torch.allclose(again['final'][1], out['final'][1], atol=1e-5)
    plain = model.backbone.forward_tokens(other)
    assert not torch.allclose(plain['final'][1], out['final'][1], atol=1e-3)


def test_patch_loss_reads_masked_positions_only():
    _, model, batch = model_and_data(DEMO, 4)
    model.eval()
    inputs = model.data_preprocessor(batch, True)['inputs']
    images = [inputs['anchor'], inputs['views'][0]]
    masks = [model.objectives['mim'].draw_masks(4, (16, 8), torch.Generator().manual_seed(s)) for s in (1, 2)]
    masks[0][0] = True  # at least one fully masked and one intact image
    masks[1][1] = False
    step = model.new_step(dict(anchor=images[0], views=images[1:]))
    model.encode_masked(step, dict(enumerate(masks)))
    student = step.student
    teacher = encode_views(model.expert.module.backbone, images)
    center = model.objectives['mim'].head.center.clone()

    def loss(teacher_out):
        model.objectives['mim'].head.center.copy_(center)
        step.teacher = dict(enumerate(teacher_out))
        return model.objectives['mim'].loss(step)['loss_mim']

    base = loss(teacher)
    assert base > 0

    def replaced(where):
        out = []
        for t, m in zip(teacher, masks):
            glob, patches = t['final']
            sel = m if where == 'masked' else ~m
            noisy = torch.where(sel[..., None], torch.randn_like(patches) * 5, patches)
            out.append(dict(t, final=(glob, noisy)))
        return out

    # the teacher's tokens at unmasked positions are never targets
    assert torch.allclose(loss(replaced('visible')), base, atol=1e-6)
    assert not torch.allclose(loss(replaced('masked')), base, atol=1e-3)
    # the student's logits are computed at the masked positions only
    logits = [model.objectives['mim'].neck(s['final'][1][m]) for s, m in zip((student[0], student[1]), masks)]
    assert [len(x) for x in logits] == [int(m.sum()) for m in masks]


@pytest.mark.slow
def test_personvit_loss_falls_on_a_repeated_batch():
    """The masks are held (one generator) and both centres too, so the batch is truly repeated."""
    logs = held_randomness_logs(DEMO, 0, **{'csm.head.center_momentum': 1.0, 'mim.head.center_momentum': 1.0})
    assert_losses_fall(logs, ('loss', 'loss_csm', 'loss_mim'))
    assert {'mim_teacher_entropy', 'csm_teacher_entropy'} <= set(logs[-1])


class _Prototypes(Hook):
    priority = 'LOWEST'

    def __init__(self, store: list) -> None:
        self.store = store

    def _record(self, runner) -> None:
        m = runner.model
        self.store.append((m.objectives['csm'].neck.last_layer.weight.detach().clone(),
                           m.objectives['mim'].neck.last_layer.weight.detach().clone(),
                           # τt of the iteration just run (the model's step has moved past it)
                           m.objectives['csm'].head.teacher_temp_at(max(m.step.value - 1, 0)),
                           m.objectives['mim'].head.teacher_temp_at(max(m.step.value - 1, 0)),
                           m.backbone.ln1.weight.detach().clone(), m.mask_token.detach().clone()))

    def before_train(self, runner) -> None:
        self._record(runner)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._record(runner)


@pytest.mark.slow
def test_personvit_under_the_runner_freezes_both_prototype_layers_and_exports(tmp_path):
    store = []
    runner = short_run(DEMO, str(tmp_path), hooks=[_Prototypes(store)])
    first = store[0]
    for csm_w, mim_w, csm_t, mim_t, _, _ in store[1:]:
        assert torch.allclose(csm_w, first[0], atol=1e-6) and torch.allclose(mim_w, first[1], atol=1e-6)
        assert csm_t == mim_t  # both teacher temperatures warm up alike
    assert store[-1][2] > store[1][2] == 0.04  # warming up (0.04 -> 0.07 over 10 iterations)
    assert not torch.equal(store[-1][4], first[4])  # the student trains
    assert not torch.equal(store[-1][5], first[5])  # and its mask token
    assert 'train/loss_mim' in runner.message_hub.log_scalars
    export_loads_into_vitpose(str(tmp_path / 'iter_3.pth'), str(tmp_path / 'backbone.pth'),
                              runner.model.backbone.state_dict())
