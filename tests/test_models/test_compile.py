"""Issue 28 §5: ``model.compile_encoders`` compiles the transformer blocks of the student and of the
expert (``torch.compile``, dynamic shapes) without changing what a step computes or what a checkpoint
holds; mmengine's whole-``train_step`` compile is refused for a pretraining model, naming the keys."""
import os.path as osp

import pytest
import torch
from cfg_paths import DEMO_CFG, ROOT, SMALL_PRETRAIN, SMALL_VIT
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from saip_mm.engine.hooks import resolve_schedules
from saip_mm.models.utils.compile import is_compiled, transformer_blocks
from saip_mm.registry import DATASETS, MODELS
from saip_mm.utils.preflight import ConfigConflictError, check_compile, preflight


def demo_cfg() -> Config:
    cfg = Config.fromfile(osp.join(ROOT, DEMO_CFG))
    cfg.model.backbone.update(SMALL_VIT)  # 4 blocks: the compile is what is tested, not the depth
    return cfg


def build(cfg: Config, **updates) -> torch.nn.Module:
    with DefaultScope.overwrite_default_scope('saip_mm'):
        model = MODELS.build(dict(cfg.model, **updates))
    model.init_weights()
    return model


def step_losses(model, batch: dict) -> dict:
    """One step's losses and the student's gradients, on the batch (the step's draws are the model's
    seeded ones, so two models with one state draw alike)."""
    model.train()
    model.zero_grad()
    data = model.data_preprocessor(batch, True)
    losses = model.loss(**data)
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    grads = torch.cat([p.grad.flatten() for p in model.backbone.parameters() if p.grad is not None])
    return {k: float(v.detach()) for k, v in losses.items() if k.startswith('loss')}, grads


@pytest.mark.slow
def test_compiled_blocks_compute_the_eager_step_and_keep_the_state_dict():
    cfg = demo_cfg()
    with DefaultScope.overwrite_default_scope('saip_mm'):
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = pseudo_collate([dataset[i] for i in range(2)])
    eager = build(cfg)
    compiled = build(cfg, compile_encoders=dict(dynamic=True))
    student = transformer_blocks(compiled.backbone)
    expert = transformer_blocks(compiled.expert.module['backbone'])
    assert len(student) == len(expert) == 4 and all(is_compiled(b) for b in student + expert)
    assert not any(is_compiled(b) for b in transformer_blocks(eager.backbone))
    assert list(compiled.state_dict()) == list(eager.state_dict())  # no `_orig_mod.` in a checkpoint
    compiled.load_state_dict(eager.state_dict())
    for model in (eager, compiled):
        resolve_schedules(model, 2, 2)
    (loss_e, grad_e), (loss_c, grad_c) = step_losses(eager, batch), step_losses(compiled, batch)
    assert loss_e.keys() == loss_c.keys() == {'loss_csm', 'loss_csr', 'loss_css'}
    for key in loss_e:
        assert loss_c[key] == pytest.approx(loss_e[key], rel=1e-5), key
    assert float((grad_c - grad_e).norm() / grad_e.norm()) < 1e-4

    # the expert's compiled blocks run the expert's weights (compiled after the copy), not the student's
    optim = build_optim_wrapper(compiled, dict(optimizer=dict(type='AdamW', lr=1e-2)))
    optim.step()
    compiled.update_expert()
    image = torch.randn(2, 3, 256, 128)
    with torch.no_grad():
        out = compiled.expert.module['backbone'].forward_tokens(image)['final'][0]
        with torch.compiler.set_stance('force_eager'):
            ref = compiled.expert.module['backbone'].forward_tokens(image)['final'][0]
            of_student = compiled.backbone.forward_tokens(image)['final'][0]
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(ref, of_student, atol=1e-4)


def test_compile_encoders_refuses_what_it_cannot_compile():
    cfg = demo_cfg()
    with pytest.raises(ValueError, match=r"compile_encoders: unknown torch.compile option.*'dinamic'"):
        build(cfg, compile_encoders=dict(dinamic=True))
    starnet = Config.fromfile(osp.join(ROOT, SMALL_PRETRAIN['starnet']))
    with pytest.raises(ValueError, match='compile_encoders: the TokenAdapter encoder has no transformer'):
        build(starnet, compile_encoders=True)


def test_mmengine_compile_is_refused_for_pretraining_only():
    cfg = demo_cfg()
    preflight(cfg, DEMO_CFG)  # no compile: passes
    cfg.compile = True
    with pytest.raises(ConfigConflictError, match=r'^compile: .* model.compile_encoders=True'):
        preflight(cfg, DEMO_CFG)
    pose_path = 'configs/downstream/mmpose/td-hm_vit-tiny-p16_8xb64-210e_coco-256x192.py'
    pose = Config.fromfile(osp.join(ROOT, pose_path))
    pose.compile = True  # a downstream model: mmengine's compile is the user's to try
    check_compile(pose)
