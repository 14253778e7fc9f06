"""HAP baseline (configs/baselines/hap): MAE on two part-guided masked views plus InfoNCE alignment.
Keypoints come with the crops (build_hp_crops.py --keypoints, the dataset's keypoint_file), follow the
crop, and make the six part regions; on a real COCO person the masks cover the selected parts with the
exact count; data without keypoints is refused by name; the loss falls; the checkpoint exports."""
import json
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from baseline_utils import (
    assert_losses_fall,
    export_loads_into_vitpose,
    losses_on_repeated_batch,
    model_and_data,
    short_run,
)
from cfg_paths import DATA, ROOT
from mmengine.config import Config

from saip_mm.datasets.transforms.human_parts import (
    COCO_PARTS,
    HumanPartMask,
    KeypointRandomResizedCrop,
    part_cells,
    part_guided_mask,
)
from saip_mm.models.objectives.reconstruction import reconstruct
from saip_mm.registry import DATASETS, MODELS
from saip_mm.utils.host_sync import count_host_syncs

FULL = 'configs/baselines/hap/hap_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py'
DEMO = 'configs/baselines/hap/hap_vit-tiny-p16_1xb8-100it_demo-persons.py'
HP = osp.join(ROOT, 'demo', 'hp_persons')
PERSON = 'crops/coco/000000000785_442619.jpg'  # all 17 keypoints annotated


def _person_256x128():
    """The COCO person resized to 256x128 with its keypoints (the crop transform at full area)."""
    with open(osp.join(HP, 'keypoints.json')) as f:
        kpts = np.asarray(json.load(f)[PERSON], dtype=np.float32)
    img = mmcv.imread(osp.join(HP, PERSON))
    h, w = img.shape[:2]
    kpts[:, 0] *= 128 / w
    kpts[:, 1] *= 256 / h
    return mmcv.imresize(img, (128, 256)), kpts


def test_parts_of_a_real_coco_person_sit_where_the_body_is():
    _, kpts = _person_256x128()
    cells = part_cells(kpts, (16, 8), 16)
    rows = {name: np.nonzero(c.any(1))[0] for name, c in cells.items()}
    assert all(len(r) for r in rows.values())  # every part is visible on this person
    assert rows['head'].max() < 6  # the head in the top third
    assert rows['left_leg'].min() > rows['head'].max() and rows['right_leg'].max() >= 12
    assert rows['upper_body'].min() <= rows['left_arm'].min() + 2
    # a part's region holds its own keypoints
    for name, idx in COCO_PARTS.items():
        for x, y, v in kpts[list(idx)]:
            if v:
                assert cells[name][int(y // 16), int(x // 16)], (name, x, y)


@pytest.mark.parametrize('seed', range(12))
def test_part_guided_masks_cover_the_selected_parts_with_exact_counts(seed):
    _, kpts = _person_256x128()
    cells = part_cells(kpts, (16, 8), 16)
    mask, used = part_guided_mask(cells, 0.5, torch.Generator().manual_seed(seed))
    assert mask.shape == (128, ) and mask.sum() == 64  # N_m = floor(0.5 * 128)
    union = np.zeros(128, dtype=bool)
    for i, name in enumerate(used):
        part = cells[name].reshape(-1)
        if i < len(used) - 1:  # every part but the last chosen is masked whole
            assert mask[part].all(), (name, used)
        union |= part
    if union.sum() <= 64:  # short of N_m: all selected parts whole, the rest added block-wise
        assert mask[union].all()
    else:  # over N_m: only selected parts' patches are masked
        assert not mask[~union].any()


def test_masks_differ_per_draw_and_parts_are_drawn_in_random_number_and_order():
    _, kpts = _person_256x128()
    cells = part_cells(kpts, (16, 8), 16)
    gen = torch.Generator().manual_seed(0)
    draws = [part_guided_mask(cells, 0.5, gen) for _ in range(60)]
    counts = {len(u) for _, u in draws}
    assert len(counts) >= 5  # P from 0..6
    assert len({tuple(m.tolist()) for m, _ in draws}) > 50


def test_the_crop_moves_keypoints_with_the_pixels():
    img = np.zeros((300, 150, 3), np.uint8)
    kpts = np.zeros((1, 17, 3), np.float32)
    for k, (x, y) in enumerate([(40, 60), (100, 200), (75, 150)]):
        img[y - 2:y + 3, x - 2:x + 3] = 255
        kpts[0, k] = (x, y, 1)
    np.random.seed(3)
    crop = KeypointRandomResizedCrop(scale=(256, 128), crop_ratio_range=(0.6, 0.9),
                                     aspect_ratio_range=(0.4, 0.6))
    out = crop(dict(img=img, gt_keypoints=kpts.copy()))
    assert out['img'].shape[:2] == (256, 128)
    for x, y, v in out['gt_keypoints'][0, :3]:
        if v:
            ys, xs = np.nonzero(out['img'][..., 0] > 100)
            assert np.min(np.hypot(xs - x, ys - y)) < 3  # a bright pixel where the keypoint went
    assert out['gt_keypoints'][0, 3:, 2].sum() == 0


def test_data_without_keypoints_is_refused_by_name(tmp_path):
    with pytest.raises(KeyError, match=r'HumanPartMask \(HAP\) needs keypoints, and a.jpg has none'):
        HumanPartMask()(dict(img=np.zeros((256, 128, 3), np.uint8), img_path='a.jpg'))
    # a keypoint file that misses listed images
    (tmp_path / 'list.txt').write_text(f'{PERSON}\ncrops/coco/000000040083_198196.jpg\n')
    (tmp_path / 'kp.json').write_text(json.dumps({PERSON: [[0, 0, 0]] * 17}))
    ds = dict(type='PersonCropDataset', data_root=HP, ann_file=str(tmp_path / 'list.txt'),
              keypoint_file=str(tmp_path / 'kp.json'))
    with pytest.raises(ValueError, match=r'kp.json has no record for 1 of 2 images, e.g. crops/coco/00'):
        DATASETS.build(ds)
    (tmp_path / 'kp.json').write_text(json.dumps({PERSON: [[0, 0, 0]] * 14}))
    with pytest.raises(ValueError, match=r"the record of '.*000000000785_442619.jpg' has shape \(14, 3\)"):
        DATASETS.build(ds)
    _, model, _ = model_and_data(DEMO, 1)
    with pytest.raises(KeyError, match="HAP needs 'part_masks'"):
        model.loss(dict(anchor=torch.zeros(1, 3, 256, 128)))


def test_build_hp_crops_writes_keypoints_in_crop_pixels(tmp_path):
    import sys
    sys.path.insert(0, osp.join(ROOT, 'tools', 'dataset_converters'))
    from build_hp_crops import main
    src = osp.join(DATA, 'mmpose_samples')
    main(['--out-dir', str(tmp_path), '--keypoints', '--workers', '1',
          '--source', 'coco', 'coco', osp.join(src, 'coco', 'test_coco.json'), osp.join(src, 'coco'),
          '--source', 'crowdpose', 'coco', osp.join(src, 'crowdpose', 'test_crowdpose.json'),
          osp.join(src, 'crowdpose')])
    with open(tmp_path / 'keypoints.json') as f:
        records = json.load(f)
    with open(tmp_path / 'list.txt') as f:
        listed = [line.strip() for line in f if line.strip()]
    assert sorted(records) == sorted(listed)
    with open(osp.join(src, 'coco', 'test_coco.json')) as f:
        coco = json.load(f)
    ann = next(a for a in coco['annotations'] if a['id'] == 442619)
    crop = mmcv.imread(str(tmp_path / PERSON))
    got = np.asarray(records[PERSON])
    raw = np.asarray(ann['keypoints'], dtype=float).reshape(17, 3)
    shift = raw[:, :2] - got[:, :2]  # one offset (the crop's corner) for every keypoint
    assert np.allclose(shift, shift[0], atol=0.01) and (got[:, 2] == 1).all()
    assert (got[:, 0] < crop.shape[1]).all() and (got[:, 1] < crop.shape[0]).all()
    # CrowdPose: COCO slots by name, the nose at the head-top/neck midpoint
    with open(osp.join(src, 'crowdpose', 'test_crowdpose.json')) as f:
        cp = json.load(f)
    a = next(a for a in cp['annotations'] if a['num_keypoints'] >= 12)
    rec = np.asarray(next(v for k, v in records.items() if k.endswith(f"_{a['id']}.jpg")))
    raw = np.asarray(a['keypoints'], dtype=float).reshape(14, 3)
    corner = raw[0, :2] - rec[5, :2]  # left shoulder: CrowdPose 0, COCO 5
    assert np.allclose(raw[1, :2] - rec[6, :2], corner, atol=0.01)  # right shoulder
    if raw[12, 2] and raw[13, 2]:
        assert np.allclose(rec[0, :2] + corner, (raw[12, :2] + raw[13, :2]) / 2, atol=0.02)
    assert rec[1:5, 2].sum() == 0  # no eyes or ears in CrowdPose


def test_hap_config_and_dataset_give_two_part_masks_per_image():
    cfg = Config.fromfile(osp.join(ROOT, FULL))
    assert cfg.model.type == 'HAP' and cfg.model.expert is None and cfg.model.csm is None
    assert cfg.model.align.temperature == 0.2 and cfg.model.align.loss_weight == 0.05
    assert cfg.train_dataloader.dataset.keypoint_file == 'keypoints.json'
    assert cfg.train_dataloader.dataset.pipeline[0].crop_ratio_range == (0.8, 1.0)
    _, model, batch = model_and_data(DEMO, 4)
    inputs = model.data_preprocessor(batch, True)['inputs']
    assert set(inputs) == {'anchor', 'part_masks', 'mask_counts'} and len(inputs['part_masks']) == 2
    for m in inputs['part_masks']:
        assert m.shape == (4, 128) and (m.sum(1) == 64).all()
    assert inputs['mask_counts'] == {'part_masks': [64, 64]}  # counted in the workers
    assert not torch.equal(*inputs['part_masks'])
    with count_host_syncs() as syncs:  # the counts reach the encoder: it does not read the masks back
        model.loss(inputs)
    assert syncs.total == 0, syncs.sites
    # the alignment is lower for the true pairs than for shuffled ones
    model.eval()
    csr, step = model.objectives['csr'], model.new_step(inputs)
    z = [reconstruct(csr.neck, csr.head.patch_size, csr.cfg, step, inputs['anchor'], m)[1]['final'][0]
         for m in inputs['part_masks']]
    head = MODELS.build(cfg.model.align)
    assert head.loss(z[0], z[1]) < head.loss(z[0], z[1].roll(1, 0))


@pytest.mark.slow
def test_hap_loss_falls_on_a_repeated_batch():
    _, model, batch = model_and_data(DEMO, 4)
    logs = losses_on_repeated_batch(model, batch)
    assert {k for k in logs[-1] if k.startswith('loss_')} == {'loss_csr', 'loss_align'}
    assert_losses_fall(logs, ('loss', 'loss_csr'))
    assert all(log['loss_align'] == log['loss_align'] for log in logs)


@pytest.mark.slow
def test_hap_under_the_runner_and_export(tmp_path):
    runner = short_run(DEMO, str(tmp_path))
    assert {'train/loss_csr', 'train/loss_align'} <= set(runner.message_hub.log_scalars)
    export_loads_into_vitpose(str(tmp_path / 'iter_3.pth'), str(tmp_path / 'backbone.pth'),
                              runner.model.backbone.state_dict())


def test_predict_keypoints_writes_what_the_pose_model_predicts(tmp_path):
    """The tool with a real ViTPose (this repo's pose config; weights saved here) on real crops: its
    records are mmpose's ``inference_topdown`` on the whole crop, in the COCO order, visible from the
    score threshold, and the dataset reads them."""
    import sys
    sys.path.insert(0, osp.join(ROOT, 'tools', 'dataset_converters'))
    from mmengine.registry import init_default_scope
    from mmpose.apis import inference_topdown, init_model
    from predict_keypoints import main
    pose_cfg = osp.join(ROOT, 'configs/downstream/mmpose/td-hm_vit-tiny-p16_8xb64-210e_coco-256x192.py')
    init_default_scope('mmpose')
    try:
        cfg = Config.fromfile(pose_cfg)
        cfg.model.backbone.init_cfg = None
        from mmpose.registry import MODELS as POSE_MODELS
        torch.manual_seed(0)
        pose = POSE_MODELS.build(cfg.model)
        torch.save(dict(state_dict=pose.state_dict()), tmp_path / 'pose.pth')
        aic = 'crops/aic/054d9ce9201beffc76e5ff2169d2af2f027002ca_4.jpg'
        (tmp_path / 'list.txt').write_text(f'{PERSON}\n{aic}\n')
        records = main([pose_cfg, str(tmp_path / 'pose.pth'), '--data-root', HP, '--ann-file',
                        str(tmp_path / 'list.txt'), '--out', str(tmp_path / 'kp.json'), '--score-thr=-1e9'])
        model = init_model(pose_cfg, str(tmp_path / 'pose.pth'), device='cpu')
        img = mmcv.imread(osp.join(HP, PERSON))
        inst = inference_topdown(model, img, np.array([[0, 0, img.shape[1], img.shape[0]]], np.float32))[0]
    finally:
        init_default_scope('saip_mm')
    got = np.asarray(records[PERSON])
    assert got.shape == (17, 3) and (got[:, 2] == 1).all()  # no threshold: every COCO point visible
    assert np.allclose(got[:, :2], inst.pred_instances.keypoints[0], atol=0.01)
    ds = DATASETS.build(dict(type='PersonCropDataset', data_root=HP, ann_file=str(tmp_path / 'list.txt'),
                             keypoint_file=str(tmp_path / 'kp.json')))
    assert ds.get_data_info(0)['gt_keypoints'].shape == (1, 17, 3)
