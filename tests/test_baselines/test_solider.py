"""SOLIDER baseline (configs/baselines/solider): DINO with SOLIDER's semantic controller λ (a backbone
input at pretraining, per image, and at fine-tuning, from the config), token clustering of the teacher's
λ = 1 tokens into background and three parts, and the λ-weighted semantic token classification.

λ = 0 and λ = 1 give different features in every forward path; the EMA teacher conditions with its own
controller; the clustering puts a real COCO person's tokens in the foreground and numbers the parts top
to bottom; the teacher's labels come from λ = 1 whatever λ_i; the masked copies blank exactly one
part's patches; λ = 0 images add nothing to the semantic loss; the loss falls; the checkpoint exports
into the SOLIDER pose config at its λ."""
import json
import os.path as osp
from functools import partial

import cv2
import mmcv
import numpy as np
import pytest
import torch
from baseline_utils import (
    assert_losses_fall,
    export_loads_into_vitpose,
    held_randomness_logs,
    model_and_data,
    short_run,
    teacher_pass,
)
from cfg_paths import DATA, ROOT
from mmengine.config import Config

from saip_mm.engine.hooks import resolve_schedules
from saip_mm.models.utils import patchify
from saip_mm.models.utils.token_clustering import semantic_part_labels
from saip_mm.models.utils.tokens import encode_views
from saip_mm.registry import MODELS

FULL = 'configs/baselines/solider/solider_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py'
DEMO = 'configs/baselines/solider/solider_vit-tiny-p16_1xb8-100it_demo-persons.py'
DINO = 'configs/baselines/dino/dino_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py'
POSE = 'configs/downstream/mmpose/td-hm_solider-vit-tiny-p16_8xb64-210e_coco-256x192.py'
MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)


def _backbone(**kwargs):
    cfg = Config.fromfile(osp.join(ROOT, DEMO)).model.backbone
    cfg.update(kwargs)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.eval()


def test_solider_config_is_dino_plus_controller_and_semantic_head():
    cfg = Config.fromfile(osp.join(ROOT, FULL))
    dino = Config.fromfile(osp.join(ROOT, DINO))
    assert cfg.model.type == 'SOLIDER' and cfg.model.csm == dino.model.csm
    assert cfg.model.backbone == dict(dino.model.backbone, semantic_weight=0.2)
    assert cfg.model.semantic.num_parts == cfg.model.semantic.head.num_parts == 3
    assert cfg.model.semantic.head.num_blocks == 3  # SOLIDER supplementary section 1
    assert cfg.train_dataloader == dino.train_dataloader and cfg.custom_hooks == dino.custom_hooks


def test_lambda_zero_and_one_give_different_features_in_every_forward_path():
    torch.manual_seed(0)
    backbone = _backbone()
    x = torch.randn(2, 3, 256, 128)
    with torch.no_grad():
        at = {w: backbone.forward_tokens(x, semantic_weight=w)['final'][1] for w in (0.0, 1.0)}
        default = backbone.forward_tokens(x)['final'][1]
        per_image = backbone.forward_tokens(x, semantic_weight=torch.tensor([0.0, 1.0]))['final'][1]
    rel = (at[0.0] - at[1.0]).norm() / at[1.0].norm()
    assert rel > 1e-3, rel
    assert torch.allclose(per_image[0], at[0.0][0], atol=1e-5)  # one λ per image
    assert torch.allclose(per_image[1], at[1.0][1], atol=1e-5)
    assert not torch.allclose(default, at[0.0], atol=1e-4) and not torch.allclose(default, at[1.0], atol=1e-4)
    # mmpretrain's forward (the downstream path) reads the config's λ (0.2) through the same controller
    backbone.out_type = 'featmap'
    with torch.no_grad():
        featmap = backbone(x)[0]
        again = backbone.forward_tokens(x, semantic_weight=0.2)['final'][1]
    assert torch.allclose(featmap.flatten(2).transpose(1, 2), again, atol=1e-5)
    # the controller is y = h * softplus(W_s w + b_s) + W_b w + b_b after blocks 3, 6, 9, 12
    assert backbone.semantic_controller.points == [3, 6, 9, 12]
    plain = _backbone(semantic_weight=None)
    assert not any('semantic' in k for k in plain.state_dict())
    plain.load_state_dict({k: v for k, v in backbone.state_dict().items() if 'semantic' not in k})
    ctl = backbone.semantic_controller
    with torch.no_grad():
        for scale, shift in zip(ctl.scale, ctl.shift):
            scale.weight.zero_()
            scale.bias.fill_(float(np.log(np.e - 1)))
            shift.weight.zero_()
            shift.bias.zero_()
        assert torch.allclose(backbone.forward_tokens(x, semantic_weight=1.0)['final'][1],
                              plain.forward_tokens(x)['final'][1], atol=1e-5)  # identity maps: a plain ViT
        ctl.shift[0].weight[:, 0] = 1.0  # λ enters: +λ on every channel after block 3
        shifted = backbone.forward_tokens(x, semantic_weight=1.0)['mid'][1]
        plain_mid = plain.forward_tokens(x)['mid'][1]
    assert not torch.allclose(shifted, plain_mid, atol=1e-3)


def test_lambda_is_checked_and_needs_a_controller():
    plain = _backbone(semantic_weight=None)
    with pytest.raises(ValueError, match='no semantic controller'):
        plain.forward_tokens(torch.randn(1, 3, 256, 128), semantic_weight=1.0)
    with pytest.raises(ValueError, match=r'\[0, 1\]'):
        _backbone().forward_tokens(torch.randn(1, 3, 256, 128), semantic_weight=1.5)
    with pytest.raises(ValueError, match='semantic_weight must lie in'):
        _backbone(semantic_weight=-0.1)
    cfg = Config.fromfile(osp.join(ROOT, DEMO)).model
    with pytest.raises(ValueError, match='has no semantic controller'):
        MODELS.build(dict(cfg, backbone=dict(cfg.backbone, semantic_weight=None)))
    with pytest.raises(ValueError, match='2 parts'):
        MODELS.build(dict(cfg, semantic=dict(cfg.semantic, head=dict(cfg.semantic.head, num_parts=2))))


def _pasted_person():
    """COCO person 442619 (image 785, all keypoints annotated) cropped to its box, resized to 256x128,
    on a background of the normalisation mean; its pixel mask and keypoints at that size."""
    with open(osp.join(DATA, 'mmpose_samples/coco/test_coco.json')) as f:
        ann = next(a for a in json.load(f)['annotations'] if a['id'] == 442619)
    img = mmcv.imread(osp.join(DATA, 'mmpose_samples/coco/000000000785.jpg'), channel_order='rgb')
    mask = np.zeros(img.shape[:2], np.uint8)
    for poly in ann['segmentation']:
        cv2.fillPoly(mask, [np.asarray(poly, np.float32).reshape(-1, 2).round().astype(np.int32)], 1)
    x, y, w, h = [int(round(v)) for v in ann['bbox']]
    crop = mmcv.imresize(img[y:y + h, x:x + w], (128, 256)).astype(np.float32)
    person = mmcv.imresize(mask[y:y + h, x:x + w], (128, 256), interpolation='nearest').astype(bool)
    crop[~person] = MEAN
    kpts = np.asarray(ann['keypoints'], np.float32).reshape(-1, 3)
    kpts[:, 0] = (kpts[:, 0] - x) * 128 / w
    kpts[:, 1] = (kpts[:, 1] - y) * 256 / h
    return (crop - MEAN) / STD, person, kpts


def test_clustering_puts_a_real_persons_tokens_in_the_foreground_and_orders_parts_top_down():
    image, person, kpts = _pasted_person()
    tokens = patchify(torch.from_numpy(image).permute(2, 0, 1)[None], 16)  # (1, 128, 768) pixel tokens
    labels, valid = semantic_part_labels(tokens, (16, 8), num_parts=3, min_foreground=0.2)
    assert valid.tolist() == [True]
    cover = torch.from_numpy(person.reshape(16, 16, 8, 16).mean((1, 3)))  # person fraction per patch
    fg = labels[0] > 0
    assert not fg[cover == 0].any()  # no pure-background patch is foreground
    assert fg[cover > 0.5].float().mean() > 0.95  # the patches mostly covered by the person are
    rows = torch.arange(16)[:, None].expand(16, 8)
    mean_rows = [rows[labels[0] == k].float().mean() for k in (1, 2, 3)]
    assert mean_rows[0] < mean_rows[1] < mean_rows[2]  # parts numbered top to bottom
    nose = kpts[0]
    assert labels[0, int(nose[1] // 16), int(nose[0] // 16)] == 1  # the head is in part 1
    # the same person under SOLIDER's rule (foreground > half the tokens) is not labelled: it fills
    # fewer than half of the patches; a flat image has nothing to split
    assert not semantic_part_labels(tokens, (16, 8))[1].any()
    assert not semantic_part_labels(torch.ones(1, 128, 8), (16, 8), min_foreground=0.0)[1].any()


def _global_crops_and_teacher(lam: torch.Tensor):
    """The demo model (every image labelled: no foreground minimum), a real batch's two global crops,
    and its teacher pass at ``lam``."""
    _, model, batch = model_and_data(DEMO, len(lam), **{'semantic.min_foreground': 0.0})
    model.eval()
    inputs = model.data_preprocessor(batch, True)['inputs']
    globals_ = [inputs['anchor'], inputs['views'][0]]
    return model, globals_, teacher_pass(model, globals_, lam)


def test_teacher_conditions_with_lambda_and_labels_with_lambda_one():
    lam = torch.tensor([0.0, 1.0, 0.0, 1.0])
    model, globals_, (teacher, labels, valid) = _global_crops_and_teacher(lam)
    encoder = model.expert.module.backbone
    for g, t, lab, ok in zip(globals_, teacher, labels, valid):
        at_lam = encoder.forward_tokens(g, semantic_weight=lam)['final'][0]
        assert torch.allclose(t['final'][0], at_lam, atol=1e-5)
        at_one = encoder.forward_tokens(g, semantic_weight=1.0)['mid'][1]  # label_level
        ref, ref_ok = semantic_part_labels(at_one, (16, 8), 3, 0.0)
        assert torch.equal(lab, ref) and torch.equal(ok, ref_ok) and ok.all()
    # the EMA teacher conditions with its own controller: changing the student's leaves it unchanged
    with torch.no_grad():
        for p in model.backbone.semantic_controller.parameters():
            p.add_(1.0)
    again, _, _ = teacher_pass(model, globals_, lam)
    assert torch.allclose(again[0]['final'][0], teacher[0]['final'][0], atol=1e-6)
    resolve_schedules(model, 1, 1)  # what SchedulesHook gives a one-step run
    model.update_expert()
    moved, _, _ = teacher_pass(model, globals_, lam)
    assert not torch.allclose(moved[0]['final'][0], teacher[0]['final'][0], atol=1e-5)


def test_masked_copies_blank_one_part_and_lambda_zero_images_add_nothing():
    lam = torch.tensor([1.0, 0.0, 1.0, 1.0])
    model, globals_, (_, labels, valid) = _global_crops_and_teacher(lam)
    student = encode_views(model.backbone, globals_, [lam, lam])
    sem_loss = partial(model.objectives['semantic'].classification_loss, model.backbone)
    seen = []
    forward = model.backbone.forward_tokens

    def record(x, **kwargs):
        seen.append((x.clone(), kwargs['semantic_weight'].clone()))
        return forward(x, **kwargs)

    model.backbone.forward_tokens = record
    base = sem_loss(globals_, student, labels, valid, lam, part=2)
    model.backbone.forward_tokens = forward
    blanked, weights = seen[0]
    assert torch.equal(weights, torch.cat([lam, lam]))
    cells = torch.cat(labels) == 2
    pixels = cells.repeat_interleave(16, 1).repeat_interleave(16, 2)[:, None].expand_as(blanked)
    original = torch.cat(globals_)
    assert (blanked[pixels] == 0).all() and torch.equal(blanked[~pixels], original[~pixels])
    assert pixels.any() and (original[pixels] != 0).any()
    # λ = 0 images' labels are no target: changing them leaves the loss; a λ = 1 image's changes it
    model.objectives['semantic'].head.eval()  # batch statistics off, so that only the labels differ
    base = sem_loss(globals_, student, labels, valid, lam, part=2)
    flipped = [lab.clone() for lab in labels]
    flipped[0][1] = (flipped[0][1] + 1) % 4
    assert torch.allclose(sem_loss(globals_, student, flipped, valid, lam, 2), base, atol=1e-6)
    flipped[0][0] = (flipped[0][0] + 1) % 4
    assert not torch.allclose(sem_loss(globals_, student, flipped, valid, lam, 2), base, atol=1e-4)
    zero = sem_loss(globals_, student, labels, valid, torch.zeros(4), 2)
    assert float(zero) == 0.0 and float(base) > 0


@pytest.mark.slow
def test_solider_loss_falls_on_a_repeated_batch():
    """λ, the masked part and the centre are held, so the batch is truly repeated."""
    logs = held_randomness_logs(DEMO, 1, **{'csm.head.center_momentum': 1.0, 'semantic.min_foreground': 0.0})
    assert all(log['sem_labelled'] == 1.0 for log in logs)
    assert_losses_fall(logs, ('loss', 'loss_csm', 'loss_sem'))
    assert logs[-1]['sem_acc'] > logs[0]['sem_acc']


@pytest.mark.slow
def test_solider_under_the_runner_and_export_into_the_solider_pose_config(tmp_path):
    runner = short_run(DEMO, str(tmp_path))
    scalars = runner.message_hub.log_scalars
    assert {'train/loss_csm', 'train/loss_sem', 'train/sem_labelled'} <= set(scalars)
    trained = runner.model.backbone.state_dict()
    pose = export_loads_into_vitpose(str(tmp_path / 'iter_3.pth'), str(tmp_path / 'backbone.pth'), trained,
                                     config=POSE)
    loaded = pose.backbone.state_dict()
    assert pose.backbone.semantic_controller.default == 0.8
    for key in [k for k in trained if k.startswith('semantic_controller.')]:
        assert torch.equal(loaded[key], trained[key]), key
    # λ stays an input at fine-tuning: 0.8 and 0.2 give different pose features
    pose.eval()
    x = torch.randn(1, 3, 256, 192)
    with torch.no_grad():
        high = pose.backbone(x)[0]
        pose.backbone.semantic_controller.default = 0.2
        low = pose.backbone(x)[0]
    assert not torch.allclose(high, low, atol=1e-4)
    # a backbone without the controller refuses the SOLIDER checkpoint by name
    with pytest.raises(ValueError, match='semantic_controller'):
        export_loads_into_vitpose(str(tmp_path / 'iter_3.pth'), str(tmp_path / 'backbone.pth'), trained)
