"""SOLIDER on StarNet-S3 and TinyViT-5M (configs/baselines/solider/solider_{starnet-s3,tinyvit-5m}_*): λ
conditions the encoder after each of its four stages in every forward path, masked cells stay empty with
the controller on, the labels read the un-normalised stride-16 map (``TokenAdapter(mid='pre_norm')``),
and the controller is exported with the encoder into the downstream configs, where λ stays an input."""
import os.path as osp

import pytest
import torch
from baseline_utils import export_and_build, export_backbone, model_and_data, teacher_pass
from cfg_paths import ROOT
from mmengine.config import Config

from saip_mm.models.utils.token_clustering import semantic_part_labels
from saip_mm.registry import MODELS

CONFIGS = {s: f'configs/baselines/solider/solider_{s}_8xb256-amp-coslr-300e_lup1m.py'
           for s in ('starnet-s3', 'tinyvit-5m')}
WIDTHS = {'starnet-s3': [32, 64, 128, 256], 'tinyvit-5m': [128, 160, 320, 320]}  # each stage's output
SMALLER = {'csm.neck.out_channels': 4096, 'csm.head.out_channels': 4096}


def _adapter(student: str, **encoder):
    cfg = Config.fromfile(osp.join(ROOT, CONFIGS[student])).model.backbone
    cfg.encoder.update(encoder)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.eval()


@pytest.mark.parametrize('student', sorted(CONFIGS))
def test_lambda_conditions_every_stage_in_every_forward_path(student):
    backbone = _adapter(student)
    ctl = backbone.semantic_controller
    assert ctl is backbone.encoder.semantic_controller and ctl.default == 0.2
    assert ctl.points == [1, 2, 3, 4] and [s.out_features for s in ctl.scale] == WIDTHS[student]
    x = torch.randn(2, 3, 256, 128)
    with torch.no_grad():
        at = {w: backbone.forward_tokens(x, semantic_weight=w)['final'][1] for w in (0.0, 1.0)}
        per_image = backbone.forward_tokens(x, semantic_weight=torch.tensor([0.0, 1.0]))['final'][1]
        # the downstream path (the encoder's own forward) reads the config's λ in the same loop
        fmap = backbone(x)[backbone.patch_index]
        downstream = backbone.patch_norm(backbone.patch_proj(fmap).flatten(2).transpose(1, 2))
        at_default = backbone.forward_tokens(x, semantic_weight=0.2)['final'][1]
    assert (at[0.0] - at[1.0]).norm() / at[1.0].norm() > 1e-3
    assert torch.allclose(per_image[0], at[0.0][0], atol=1e-5)
    assert torch.allclose(per_image[1], at[1.0][1], atol=1e-5)
    assert torch.allclose(downstream, at_default, atol=1e-5)
    # with identity maps the controlled encoder is the plain one
    plain = _adapter(student, semantic_weight=None)
    assert plain.semantic_controller is None
    plain.load_state_dict({k: v for k, v in backbone.state_dict().items() if 'semantic' not in k})
    with torch.no_grad():
        for scale, shift in zip(ctl.scale, ctl.shift):
            scale.weight.zero_()
            shift.weight.zero_()
            shift.bias.zero_()
        same = backbone.forward_tokens(x, semantic_weight=1.0)
        ref = plain.forward_tokens(x)
    for level in ('final', 'mid'):
        assert torch.allclose(same[level][1], ref[level][1], atol=1e-5), level
    with pytest.raises(ValueError, match='no semantic controller'):
        plain.forward_tokens(x, semantic_weight=1.0)
    with pytest.raises(ValueError, match="mid must be 'final' or 'pre_norm'"):
        MODELS.build(dict(Config.fromfile(osp.join(ROOT, CONFIGS[student])).model.backbone, mid='block7'))


@pytest.mark.parametrize('student', ['vit-tiny-p16', *sorted(CONFIGS)])
def test_lambda_is_an_argument_not_hook_state(student):
    """No module of a λ-conditioned student or of its EMA copy has a forward hook: λ reaches the blocks
    as an argument of every path (the encoder's ``forward`` takes it too, as downstream tasks call it),
    and a call without λ reads the config's λ whatever the previous call passed."""
    cfg = Config.fromfile(osp.join(ROOT, CONFIGS.get(student, 'configs/baselines/solider/'
                                                              'solider_vit-tiny-p16_1xb8-100it_demo-persons.py')))
    cfg.model.csm.neck.out_channels = cfg.model.csm.head.out_channels = 4096
    model = MODELS.build(cfg.model)
    model.init_weights()
    hooked = [name for name, m in model.named_modules() if m._forward_hooks or m._forward_pre_hooks]
    assert not hooked, hooked
    backbone = model.backbone.eval()
    encoder = getattr(backbone, 'encoder', backbone)  # what a downstream config builds
    x = torch.randn(2, 3, 256, 128)
    with torch.no_grad():
        default = encoder(x)[-1]
        at_one = encoder(x, semantic_weight=1.0)[-1]
        again = encoder(x)[-1]
        tokens_at_one = backbone.forward_tokens(x, semantic_weight=1.0)['final'][0]
        tokens = backbone.forward_tokens(x)['final'][0]
    assert torch.equal(default, again) and not torch.allclose(default, at_one, atol=1e-4)
    assert not torch.allclose(tokens, tokens_at_one, atol=1e-4)


@pytest.mark.parametrize('student', sorted(CONFIGS))
def test_masked_cells_stay_empty_after_the_controller(student):
    """The controller's shift would fill masked cells; the adapter re-masks after it, at every stage."""
    backbone = _adapter(student)
    seen = []
    remasked = backbone.remasked  # what each stage passes on (after λ, re-masked)

    def record(visible, module, output):
        seen.append((module, remasked(visible, module, output)))
        return seen[-1][1]

    backbone.remasked = record
    mask = torch.zeros(2, 128, dtype=torch.bool)
    mask[0, 32:96] = True
    mask[1, ::2] = True
    with torch.no_grad():
        backbone.forward_tokens(torch.randn(2, 3, 256, 128), mask, semantic_weight=torch.tensor([0.0, 1.0]))
    visible = (~mask).float().view(2, 1, 16, 8)
    for module, out in seen:
        if out.dim() == 3:  # TinyViT's (B, H*W, C) tokens
            out = out.transpose(1, 2).reshape(2, -1, *module.resolution)
        hidden = backbone.visible_at(visible, out.shape[-2:]) == 0
        assert hidden.any() and (out * hidden).abs().max() == 0
        assert (out * ~hidden).abs().max() > 0


@pytest.mark.parametrize('student', sorted(CONFIGS))
def test_labels_read_the_stride16_map_before_any_layernorm(student):
    backbone = _adapter(student)
    stage = backbone.encoder.stages[backbone.encoder.out_indices[backbone.patch_index]]
    raw = []
    remasked = backbone.remasked  # the stage's output after λ (nothing masked here)
    backbone.remasked = lambda visible, module, out: raw.append(out) or out if module is stage else remasked(
        visible, module, out)
    x = torch.randn(2, 3, 256, 128)
    with torch.no_grad():
        out = backbone.forward_tokens(x)
        stage_map = raw[0] if raw[0].dim() == 4 else raw[0].transpose(1, 2).reshape(2, -1, 16, 8)
        expected = backbone.patch_proj(stage_map).flatten(2).transpose(1, 2)
    assert torch.allclose(out['mid'][1], expected, atol=1e-5)
    final_norms, mid_norms = out['final'][1].norm(dim=-1), out['mid'][1].norm(dim=-1)
    assert final_norms.std() / final_norms.mean() < 1e-4  # LayerNorm: every token the same norm
    assert mid_norms.std() / mid_norms.mean() > 1e-3  # something for the foreground split
    # SOLIDER's teacher labels its λ = 1 mid tokens
    _, model, batch = model_and_data(CONFIGS[student], 4, **SMALLER)
    model.eval()
    inputs = model.data_preprocessor(batch, True)['inputs']
    globals_ = [inputs['anchor'], inputs['views'][0]]
    _, labels, valid = teacher_pass(model, globals_, torch.tensor([0.0, 1.0, 0.0, 1.0]))
    teacher = model.expert.module.backbone
    for image, lab, ok in zip(globals_, labels, valid):
        with torch.no_grad():
            tokens = teacher.forward_tokens(image, semantic_weight=1.0)['mid'][1]
        ref, ref_ok = semantic_part_labels(tokens, (16, 8), 3, 0.5)
        assert torch.equal(lab, ref) and torch.equal(ok, ref_ok)
    assert torch.cat(valid).any()


@pytest.mark.slow
def test_the_controller_is_exported_with_the_encoder_into_the_downstream_configs(tmp_path):
    pose_cfg = 'configs/downstream/mmpose/td-hm_solider-starnet-s3_8xb64-210e_coco-256x192.py'
    reid_cfg = 'configs/downstream/reid/reid_solider-tinyvit-5m_1xb64-24k_market1501-256x128.py'
    for student, downstream in (('starnet-s3', pose_cfg), ('tinyvit-5m', reid_cfg)):
        _, model, _ = model_and_data(CONFIGS[student], 1, **SMALLER)
        with torch.no_grad():  # a trained controller, not the initial one
            for p in model.backbone.semantic_controller.parameters():
                p.add_(0.1 * torch.randn_like(p))
        ckpt = tmp_path / f'{student}.pth'
        torch.save(dict(state_dict=model.state_dict()), ckpt)
        trained = model.backbone.encoder.state_dict()
        out = str(tmp_path / f'{student}_backbone.pth')
        if student == 'starnet-s3':  # the whole mmpose model from the pose config
            backbone = export_and_build(str(ckpt), out, downstream).backbone
            plain_cfg = 'configs/downstream/mmpose/td-hm_starnet-s3_8xb64-210e_coco-256x192.py'
            with pytest.raises(ValueError, match='semantic_controller'):
                export_and_build(str(ckpt), out, plain_cfg)
        else:  # the ReID config's backbone
            export_backbone(str(ckpt), out)
            cfg = Config.fromfile(osp.join(ROOT, downstream)).model.backbone
            cfg.init_cfg.checkpoint = out
            backbone = MODELS.build(cfg)
            backbone.init_weights()
        loaded = backbone.state_dict()
        assert any(k.startswith('semantic_controller.') for k in loaded)
        for key, value in loaded.items():
            assert torch.equal(value, trained[key]), key
        expected = 0.8 if student == 'starnet-s3' else 0.2
        assert backbone.semantic_controller.default == expected
        backbone.eval()
        x = torch.randn(1, 3, 256, 128)
        with torch.no_grad():
            at_config = backbone(x)[-1]
            other = backbone(x, semantic_weight=1.0 - expected)[-1]
        assert not torch.allclose(at_config, other, atol=1e-4)
