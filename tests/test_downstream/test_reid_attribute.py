"""Image ReID (Market-1501 layout) and pedestrian attributes (PA100K layout) with an exported SAIP
backbone, on samples derived from real COCO images (tools/misc/make_downstream_samples.py)."""
import os.path as osp

import numpy as np
import pytest
import torch
from downstream_utils import assert_backbone_equals, repeated_batch_losses
from mmengine.config import Config
from mmengine.runner import Runner

# every test here trains a downstream model under the real Runner
pytestmark = pytest.mark.slow

REID = 'configs/downstream/reid/reid_vit-tiny-p16_1xb64-24k_market1501-256x128.py'


def _reid_cfg(root, ckpt, data_root, work_dir, config=REID):
    cfg = Config.fromfile(osp.join(root, config))
    cfg.work_dir = str(work_dir)
    cfg.model.backbone.init_cfg.checkpoint = ckpt
    cfg.model.backbone.drop_path_rate = 0.0
    cfg.model.head.num_classes = 6
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[split].update(num_workers=0, persistent_workers=False)
        cfg[split].dataset.data_root = data_root
    cfg.train_dataloader.dataset.triplet_sampler = dict(num_ids=3, ins_per_id=2)
    cfg.train_cfg.update(max_iters=3, val_interval=3, val_begin=4)  # the tests validate once, after
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 3
    return cfg


def test_rank_queries_protocol():
    from saip_mm.evaluation.reid_metric import rank_queries
    q = torch.tensor([[1.0, 0.0]])
    # gallery: same id same camera (junk, nearest), other id, same id other camera
    g = torch.tensor([[1.0, 0.01], [0.9, 0.1], [0.5, 0.5]])
    cmc, aps = rank_queries(q, g, np.array([7]), np.array([7, 3, 7]), np.array([1]), np.array([1, 2, 2]))
    assert cmc[0].tolist() == [0, 1] and aps == [0.5]  # the junk match is not counted


def test_market_dataset_reads_layout(downstream_samples):
    from saip_mm.datasets import Market1501Dataset
    data_root = osp.join(downstream_samples, 'Market1501')
    train = Market1501Dataset(data_root=data_root, split='train', pipeline=[], lazy_init=False)
    assert sorted(train.pids.tolist()) == list(range(6)) and len(train) == 18
    test = Market1501Dataset(data_root=data_root, split='test', pipeline=[])
    infos = [test.get_data_info(i) for i in range(len(test))]
    assert sum(i['is_query'] for i in infos) == 6 and {i['camid'] for i in infos} == {1, 2, 3}
    with pytest.raises(FileNotFoundError, match='bounding_box_train'):
        Market1501Dataset(data_root=downstream_samples, split='train', pipeline=[])


def test_reid_loads_trains_and_evaluates(root, tmp_path, saip_backbone, downstream_samples):
    torch.manual_seed(0)
    np.random.seed(0)
    ckpt, source = saip_backbone
    cfg = _reid_cfg(root, ckpt, osp.join(downstream_samples, 'Market1501'), tmp_path)
    runner = Runner.from_cfg(cfg)
    runner.model.init_weights()
    assert_backbone_equals(runner.model.backbone, source)  # same 256x128 grid: nothing is resized
    torch.manual_seed(0)
    np.random.seed(0)
    # one dataset item is a whole PK batch (3 identities x 2 images)
    losses = repeated_batch_losses(runner, 1, 6, loss=lambda log: log['ce_loss'] + log['triplet_loss'])
    assert all(np.isfinite(losses)) and losses[-1] < losses[0], losses
    runner.train()
    metrics = runner.val_loop.run()
    assert metrics['reid/num_queries'] == 6
    assert 0 <= metrics['reid/mAP'] <= 100 and metrics['reid/R1'] <= metrics['reid/R5'] <= 100


PAR = 'configs/downstream/attribute/par_vit-tiny-p16_1xb64-25e_pa100k-256x128.py'


def test_attribute_metrics_values():
    from saip_mm.evaluation.attribute_metric import attribute_metrics
    gt = np.array([[1, 0], [1, 1], [0, 0], [0, 1]], bool)
    pred = np.array([[1, 0], [0, 1], [0, 1], [0, 1]], bool)
    m = attribute_metrics(pred, gt)
    # attribute 0: recall+ 1/2, recall- 2/2; attribute 1: recall+ 2/2, recall- 1/2
    assert m['mA'] == pytest.approx(75.0)
    # instance acc: 1, 1/2, 0, 1 (empty-vs-nonempty gives 0)
    assert m['Acc'] == pytest.approx(62.5)


def _par_cfg(root, ckpt, data_root, work_dir, config=PAR):
    cfg = Config.fromfile(osp.join(root, config))
    cfg.work_dir = str(work_dir)
    cfg.model.backbone.init_cfg.checkpoint = ckpt
    cfg.model.backbone.drop_path_rate = 0.0
    cfg.model.head.num_classes = cfg.model.data_preprocessor.num_classes = 5
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[split].update(batch_size=4, num_workers=0, persistent_workers=False)
        cfg[split].dataset.data_root = data_root
    cfg.train_cfg.update(max_epochs=1, val_interval=1, val_begin=2)  # the tests validate once, after
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0)]
    cfg.default_hooks.logger.interval = 1
    return cfg


def test_pa100k_loads_trains_and_evaluates(root, tmp_path, saip_backbone, downstream_samples):
    from saip_mm.datasets import PA100KDataset
    data_root = osp.join(downstream_samples, 'PA100k')
    data = PA100KDataset(data_root=data_root, split='train', pipeline=[])
    assert len(data) == 12 and len(data.CLASSES) == 5
    assert data.get_data_info(0)['img_path'].startswith(osp.join(data_root, 'data'))

    ckpt, source = saip_backbone
    torch.manual_seed(0)
    np.random.seed(0)
    cfg = _par_cfg(root, ckpt, data_root, tmp_path)
    runner = Runner.from_cfg(cfg)
    runner.model.init_weights()
    assert_backbone_equals(runner.model.backbone, source)
    losses = repeated_batch_losses(runner, 4, 6, lr=1e-3)
    assert all(np.isfinite(losses)) and losses[-1] < losses[0], losses
    runner.train()
    metrics = runner.val_loop.run()
    assert 0 <= metrics['attribute/mA'] <= 100 and 'attribute/F1' in metrics


def test_downstream_demo_script_runs_a_config(root, tmp_path, saip_backbone):
    """The README's `make downstream-demo` path: tools/train.py on a shipped config with overrides."""
    import sys
    sys.path.insert(0, osp.join(root, 'tools', 'misc'))
    from downstream_demo import main as demo
    assert demo([saip_backbone[0], '--work-dir', str(tmp_path), '--only', 'attribute_pa100k']) == 0
    logs = list((tmp_path / 'attribute_pa100k').rglob('*.log'))
    assert logs and 'attribute/mA' in logs[0].read_text()
    with pytest.raises(SystemExit, match='make demo'):
        demo([str(tmp_path / 'missing.pth')])


def test_msmt17_lists(tmp_path):
    """MSMT17 list files: camera from the 3rd name field, val added to train, a bad line named."""
    from saip_mm.datasets import MSMT17Dataset
    (tmp_path / 'list_train.txt').write_text('0000/0000_000_01_0303morning_0015_0.jpg 0\n'
                                             '0001/0001_003_05_0303noon_0020_1.jpg 1\n')
    (tmp_path / 'list_val.txt').write_text('0002/0002_001_07_0303noon_0001_0.jpg 2\n')
    (tmp_path / 'list_query.txt').write_text('0100/0100_000_02_0303morning_0001_0.jpg 100\n')
    (tmp_path / 'list_gallery.txt').write_text('0100/0100_004_11_0303morning_0002_0.jpg 100\n')
    train = MSMT17Dataset(data_root=str(tmp_path), split='train', pipeline=[])
    assert [int(train.get_data_info(i)['gt_label']) for i in range(3)] == [0, 1, 2]
    assert [train.get_data_info(i)['camid'] for i in range(3)] == [1, 5, 7]
    assert train.get_data_info(0)['img_path'] == osp.join(str(tmp_path), 'train', '0000',
                                                           '0000_000_01_0303morning_0015_0.jpg')
    test = MSMT17Dataset(data_root=str(tmp_path), split='test', pipeline=[])
    assert [test.get_data_info(i)['is_query'] for i in range(2)] == [True, False]
    (tmp_path / 'list_query.txt').write_text('broken-line\n')
    with pytest.raises(ValueError, match=r'list_query.txt:1'):
        MSMT17Dataset(data_root=str(tmp_path), split='test', pipeline=[])


PETA = 'configs/downstream/attribute/par_vit-tiny-p16_1xb64-25e_peta-256x128.py'


def test_peta_layout_trains_and_evaluates(root, tmp_path, saip_backbone, downstream_samples):
    from saip_mm.datasets import PETADataset
    data_root = osp.join(downstream_samples, 'PETA')
    train = PETADataset(data_root=data_root, split='trainval', pipeline=[])
    test = PETADataset(data_root=data_root, split='test', pipeline=[])
    assert len(train) == 12 and len(test) == 6 and len(train.CLASSES) == 5
    # partition 0's train split is every other image (1-based indices 1, 3, ...): the labels of the
    # same crops in the PA100K-layout sample (both derived from one COCO set)
    train_only = PETADataset(data_root=data_root, split='train', pipeline=[])
    pa = _pa100k_labels(osp.join(downstream_samples, 'PA100k'))
    assert [train_only.get_data_info(i)['gt_label'] for i in range(6)] == pa[0::2]
    assert train_only.get_data_info(1)['img_path'].endswith('00003.png')
    with pytest.raises(IndexError, match='1 partitions, asked for 3'):
        PETADataset(data_root=data_root, partition=3, pipeline=[])
    torch.manual_seed(0)
    np.random.seed(0)
    cfg = _par_cfg(root, saip_backbone[0], data_root, tmp_path, config=PETA)
    runner = Runner.from_cfg(cfg)
    runner.model.init_weights()
    assert_backbone_equals(runner.model.backbone, saip_backbone[1])
    runner.train()
    assert 0 <= runner.val_loop.run()['attribute/mA'] <= 100


def _pa100k_labels(data_root):
    from saip_mm.datasets import PA100KDataset
    data = PA100KDataset(data_root=data_root, split='train', pipeline=[])
    return [data.get_data_info(i)['gt_label'] for i in range(len(data))]


def test_linear_probe_trains_only_the_head(root, tmp_path, saip_backbone, downstream_samples):
    """The linear-probe config: the exported backbone loads and stays exactly as loaded while the head
    learns; the attribute metric is computed."""
    ckpt, source = saip_backbone
    torch.manual_seed(0)
    cfg = _par_cfg(root, ckpt, osp.join(downstream_samples, 'PA100k'), tmp_path,
                   config='configs/downstream/attribute/'
                          'par_linear-probe_vit-tiny-p16_1xb64-25e_pa100k-256x128.py')
    runner = Runner.from_cfg(cfg)
    head_before = {k: v.clone() for k, v in runner.model.head.state_dict().items()}
    runner.train()
    assert_backbone_equals(runner.model.backbone, source)
    assert not all(torch.equal(v, runner.model.head.state_dict()[k]) for k, v in head_before.items())
    trainable = [n for n, p in runner.model.backbone.named_parameters() if p.requires_grad]
    assert trainable == []
    metrics = runner.val_loop.run()
    assert 0 <= metrics['attribute/mA'] <= 100
