"""Issue 15: the video identity set, the retrieval metric, the validation loop of the pretraining
configs, the evaluation tool and the diagnostic PNGs."""
import json
import os
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
import torch
from cfg_paths import SMALL_VIT
from conftest import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools', 'dataset_converters'))
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis'))
import video_to_reid  # noqa: E402

REID = osp.join(ROOT, 'demo', 'vtest_reid')
DEMO_CFG = osp.join(ROOT, 'configs', 'pretrain', 'saip_vit-tiny-p16_1xb8-100it_demo-persons.py')


def _market_names(folder):
    return [n for n in sorted(os.listdir(folder)) if n.endswith('.jpg')]


# ------------------------------------------------------------------ the identity set
def test_shipped_identity_set_is_consistent_and_disjoint_from_pretraining_frames():
    from saip_mm.datasets import Market1501Dataset
    tracks = json.load(open(osp.join(REID, 'tracklets.json')))
    stats = json.load(open(osp.join(REID, 'stats.json')))
    # box continuity: between consecutive boxes of a tracklet the centre moves at walking speed
    # (< 0.15 box heights per frame; the person beside is ~0.4 heights away) and the size stays
    assert len(tracks) == stats['identities']
    for rec in tracks:
        for t in rec['tracklets']:
            boxes, frames = np.array(t['boxes']), np.array(t['frames'])
            assert (np.diff(frames) > 0).all() and len(frames) >= 6
            centres, heights = (boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 3] - boxes[:, 1]
            speed = np.linalg.norm(np.diff(centres, axis=0), axis=1) / np.diff(frames) / heights[:-1]
            assert speed.max() < 0.15, (rec['pid'], speed.max())
            assert 0.5 < (heights[1:] / heights[:-1]).min() and (heights[1:] / heights[:-1]).max() < 2
    # frames: the identity set uses 400..794, the pretraining demo set 0..399
    assert stats['frames'] == [400, 795]
    demo_frames = [int(line.split()[0].split('_')[1]) for line in
                   open(osp.join(ROOT, 'demo', 'persons', 'list.txt')) if line.strip()]
    assert max(demo_frames) < 400
    frames = [int(n.split('_')[2]) for part in ('bounding_box_train', 'query', 'bounding_box_test')
              for n in _market_names(osp.join(REID, part))]
    assert min(frames) >= 400
    # no identity has all its images in one camera (time segment)
    cams = {}
    for part in ('bounding_box_train', 'query', 'bounding_box_test'):
        for n in _market_names(osp.join(REID, part)):
            cams.setdefault(n[:4], set()).add(n.split('_')[1][:2])
    assert all(len(c) >= 2 for c in cams.values()), cams
    # loads with the project's Market1501 dataset; train and test identities are disjoint
    train = Market1501Dataset(data_root=REID, split='train', pipeline=[])
    test = Market1501Dataset(data_root=REID, split='test', pipeline=[])
    everything = Market1501Dataset(data_root=REID, split='all', pipeline=[])
    assert len(train) == stats['train'] and len(test) == stats['query'] + stats['gallery']
    assert len(everything) == len(train) + len(test)
    test_infos = [test.get_data_info(i) for i in range(len(test))]
    test_ids = {int(d['gt_label']) for d in test_infos}
    train_ids = {int(everything.get_data_info(i)['gt_label']) for i in range(len(everything))
                 if everything.get_data_info(i)['subset'] == 'train'}
    assert train_ids and test_ids and not train_ids & test_ids
    # every query has a gallery image of its identity from another camera
    for q in (d for d in test_infos if d['is_query']):
        assert any(int(g['gt_label']) == int(q['gt_label']) and g['camid'] != q['camid']
                   for g in test_infos if not g['is_query'])


@pytest.mark.slow
def test_video_to_reid_builds_a_loadable_set(tmp_path):
    from saip_mm.datasets import Market1501Dataset
    clip = osp.join(ROOT, 'tests', 'data', 'vtest_clip.avi')
    args = [clip, '--out-dir', str(tmp_path), '--every', '2', '--cameras', '2', '--min-length', '4',
            '--min-score', '0.5', '--sample-every', '2', '--max-gap', '3']
    stats = video_to_reid.main(args)
    assert stats['identities'] >= 2 and stats['query'] >= 1 and stats['gallery'] >= 1
    data = Market1501Dataset(data_root=str(tmp_path), split='all', pipeline=[])
    assert len(data) == stats['train'] + stats['query'] + stats['gallery']
    img = cv2.imread(data.get_data_info(0)['img_path'])
    assert img.shape == (128, 64, 3)
    with pytest.raises(ValueError, match='numbered 1..'):
        video_to_reid.merge_identities([dict(tracks=[], samples=[])], [[1, 5]])
    # --overwrite replaces this set (here with the same one: what is checked is that nothing stays)
    (tmp_path / 'query' / '9999_c1s1_000000_00.jpg').write_bytes(b'stale')
    second = video_to_reid.main(args + ['--overwrite'])
    assert not (tmp_path / 'query' / '9999_c1s1_000000_00.jpg').exists() and second['query'] > 0
    for part, key in (('query', 'query'), ('bounding_box_test', 'gallery'), ('bounding_box_train', 'train')):
        assert len(os.listdir(tmp_path / part)) == second[key], part
    assert json.load(open(tmp_path / 'stats.json')) == second


def test_tracker_keeps_two_walkers_apart():
    """Two people walking towards each other: tracks end at the crossing instead of swapping."""
    tracker = video_to_reid.IoUTracker(match_iou=0.4, ambiguity=0.7, max_gap=2)
    for f in range(12):
        a = np.array([10 + 8 * f, 0, 60 + 8 * f, 120], float)
        b = np.array([200 - 8 * f, 0, 250 - 8 * f, 120], float)
        tracker.update(f, np.stack([a, b]))
    for t in tracker.tracklets():
        xs = np.array(t['boxes'])[:, 0]
        assert (np.diff(xs) > 0).all() or (np.diff(xs) < 0).all()  # one direction = one person


# ------------------------------------------------------------------ the metric
def _samples(feats, pids, cams, subsets, scales=(1.0, )):
    out = []
    for f, p, c, s in zip(feats, pids, cams, subsets):
        f = torch.as_tensor(f, dtype=torch.float32)
        f = f if f.dim() == 2 else f[None].expand(len(scales), -1)
        out.append(dict(pred_scale_features=f, pred_feature=f[list(scales).index(1.0)],
                        eval_scales=list(scales), gt_label=torch.tensor([p]), camid=c, subset=s))
    return out


def test_metric_is_perfect_when_the_gallery_is_the_query_set():
    from saip_mm.evaluation import PretrainRetrievalMetric
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(12, 16))
    pids, cams = list(range(12)), [1] * 12
    metric = PretrainRetrievalMetric(camera_filter=False)
    metric.process(None, _samples(feats, pids, cams, ['query'] * 12)
                   + _samples(feats, pids, cams, ['gallery'] * 12))
    m = metric.compute_metrics(metric.results)
    assert m['R1'] == 100.0 and m['mAP'] == pytest.approx(100.0)
    with pytest.raises(ValueError, match='no query has a true match'):
        PretrainRetrievalMetric().compute_metrics(metric.results)  # same camera: all filtered out


def test_metric_on_a_hand_made_case():
    """q1 (id 1) ranks g2 (id 2), g1 (id 1), g3 (id 1): AP = (1/2 + 2/3) / 2; q2 (id 2) ranks g3, g1,
    g2: AP = 1/3. Rank-1 is 0 for both; mAP = 45.83 %."""
    from saip_mm.evaluation import PretrainRetrievalMetric
    q = [[1, 0], [0, 1]]
    g = [[1, 0.5], [1, 0.1], [0, 1]]
    metric = PretrainRetrievalMetric()
    metric.process(None, _samples(q, [1, 2], [1, 1], ['query'] * 2)
                   + _samples(g, [1, 2, 1], [2, 2, 3], ['gallery'] * 3))
    m = metric.compute_metrics(metric.results)
    assert m['R1'] == 0.0
    assert m['mAP'] == pytest.approx(100 * ((1 / 2 + 2 / 3) / 2 + 1 / 3) / 2)


def test_every_image_as_a_query_on_a_hand_made_case():
    """Four unit features at angles -12, -25, 0, 10 degrees; identities 1 1 2 2, cameras 1 2 1 2, so
    each query's gallery is the three other images. Image 0 ranks 2, 1, 3 (AP 1/2, a miss at rank 1);
    1 ranks 0 first, 2 ranks 3 first, 3 ranks 2 first (AP 1 each): R1 75 %, mAP 87.5 %."""
    from saip_mm.evaluation.retrieval_metric import all_queries_figures
    angle = torch.deg2rad(torch.tensor([-12.0, -25.0, 0.0, 10.0]))
    feat = torch.stack([angle.cos(), angle.sin()], 1)
    m = all_queries_figures(feat, np.array([1, 1, 2, 2]), np.array([1, 2, 1, 2]))
    assert m['all_queries'] == 4
    assert m['all_R1'] == pytest.approx(75.0) and m['all_mAP'] == pytest.approx(87.5)
    # an identity's images in the query's own camera are no match: each person seen in one camera only
    assert all_queries_figures(feat, np.array([1, 1, 2, 2]), np.array([1, 1, 2, 2])) == {}


def test_cross_scale_figures_and_knn():
    from saip_mm.evaluation import PretrainRetrievalMetric
    scales = (0.75, 1.0, 1.5)
    # scale-invariant features: the cross-scale figures equal the same-scale ones, cosine 1
    q = np.eye(3)[:, None].repeat(3, 1)
    g = np.eye(3)[[0, 1, 2, 0]][:, None].repeat(3, 1)
    metric = PretrainRetrievalMetric()
    metric.process(None, _samples(q, [1, 2, 3], [1, 1, 1], ['query'] * 3, scales)
                   + _samples(g, [1, 2, 3, 1], [2, 2, 2, 3], ['gallery'] * 4, scales)
                   + _samples(np.eye(3)[[0, 0, 1, 1]][:, None].repeat(3, 1), [7, 7, 8, 8], [1, 2, 1, 2],
                              ['train'] * 4, scales))
    m = metric.compute_metrics(metric.results)
    assert m['R1'] == m['xs_R1'] == 100.0 and m['scale_cos'] == pytest.approx(1.0)
    # 11 images along e0 (query 1, gallery 2, train 2), e1 (1, 1, 2) and e2 (1, 1, 0): cosine 1 within
    # a direction and 0 across, so pair_cos = (ordered same-direction pairs) / (11 * 10)
    counts = np.array([1 + 2 + 2, 1 + 1 + 2, 1 + 1])
    assert m['pair_cos'] == pytest.approx(float((counts * (counts - 1)).sum()) / (11 * 10))
    assert m['knn'] == 100.0
    assert m['all_queries'] == 11  # every image of every part is a query (each identity in 2 cameras)
    # queries whose small-scale feature points at the wrong identity: only the q0.75 direction drops
    q_bad = q.copy()
    q_bad[:, 0] = np.eye(3)[[1, 2, 0]]
    metric.results = []
    metric.process(None, _samples(q_bad, [1, 2, 3], [1, 1, 1], ['query'] * 3, scales)
                   + _samples(g, [1, 2, 3, 1], [2, 2, 2, 3], ['gallery'] * 4, scales))
    m = metric.compute_metrics(metric.results)
    assert m['R1'] == 100.0 and m['R1_q0.75_g1.5'] == 0.0 and m['R1_q1.5_g0.75'] == 100.0
    assert m['xs_R1'] == 50.0 and m['scale_cos'] < 1.0


# ------------------------------------------------------------------ during and after pretraining
@pytest.mark.slow
def test_validation_loop_tool_and_diagnostics_agree(root, tmp_path):
    """The demo's validation loop logs the retrieval figures at iteration 0 (the initialisation) and at
    the end, keeps them in the checkpoint and picks the best one; ``eval_backbone.py`` gives the same
    figures for ``none`` (random init rebuilt from the config) and for the checkpoint; the
    visualization hook and tool write non-empty PNGs whose attention maps sum to 1."""
    import eval_backbone
    import visualize_pretrain
    from mmengine.config import Config
    from mmengine.runner import Runner
    from val_sets import small_val_sets
    cfg = Config.fromfile(DEMO_CFG)
    reid = small_val_sets(cfg, tmp_path)  # what is compared does not depend on the sets' size
    cfg.model.backbone.update(SMALL_VIT)  # nor on the student's depth
    config = str(tmp_path / 'config.py')
    cfg.dump(config)  # the tools read the same sets
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_dataloader.dataset.data_root = osp.join(root, 'demo', 'persons')
    cfg.train_dataloader.batch_size = 2
    cfg.train_cfg.max_iters = cfg.train_cfg.val_interval = 2
    cfg.default_hooks.checkpoint.interval = 2
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    cfg.custom_hooks = [dict(type='ExpertEMAHook'), dict(type='ValBeforeTrainHook'),
                        dict(type='PretrainVisualizationHook', interval=2)]
    Runner.from_cfg(cfg).train()
    logs = [json.loads(line) for line in open(next(
        osp.join(dp, f) for dp, _, fs in os.walk(cfg.work_dir) for f in fs if f == 'scalars.json'))]
    vals = {row['step']: row for row in logs if 'retrieval/mAP' in row}
    assert sorted(vals) == [0, 2]
    ckpt = torch.load(osp.join(cfg.work_dir, 'iter_2.pth'), map_location='cpu')
    scalars = ckpt['message_hub']['log_scalars']
    assert 'val/retrieval/mAP' in scalars and 'val/retrieval/xs_R1' in scalars
    best = [f for f in os.listdir(cfg.work_dir) if f.startswith('best_retrieval_mAP')]
    assert len(best) == 1
    vis = [osp.join(dp, f) for dp, _, fs in os.walk(cfg.work_dir) for f in fs if f.endswith('.png')]
    assert {osp.basename(p).split('_')[0] for p in vis} >= {'csr', 'css'}
    assert all(osp.getsize(p) > 1000 for p in vis)

    table = eval_backbone.main(['none', osp.join(cfg.work_dir, 'iter_2.pth'), '--config', config,
                                '--data', reid, '--json', str(tmp_path / 'table.json')])
    for step, name in ((0, 'none'), (2, osp.join(cfg.work_dir, 'iter_2.pth'))):
        # the CSM collapse diagnostics too: the whole run (expert, projector, centre) is loaded
        for key in ('R1', 'mAP', 'all_mAP', 'knn', 'xs_mAP', 'scale_cos', 'csm_bottleneck_cos',
                    'csm_teacher_entropy'):
            assert table[name][key] == pytest.approx(vals[step][f'retrieval/{key}'], abs=1e-3), (name, key)
        for key in ('R1', 'mAP', 'R1_std'):  # the cross-scale person set, from the same MultiSetValLoop
            assert table[name][f'xscale_persons/{key}'] == pytest.approx(vals[step][f'xscale_persons/{key}'],
                                                                         abs=1e-3), (name, key)
    assert vals[0]['xscale_persons/persons'] == 26 and 3.8 < vals[0]['xscale_persons/R1'] <= 100
    assert 0 < vals[0]['retrieval/csm_teacher_entropy'] <= 1
    assert 0 < vals[2]['retrieval/csm_bottleneck_cos'] < 1
    stored = json.load(open(tmp_path / 'table.json'))
    assert stored['encoders'].keys() == table.keys()
    assert stored['set']['queries'] >= 10 and stored['set']['skipped'] == []

    out = visualize_pretrain.main([osp.join(cfg.work_dir, 'iter_2.pth'), '--out', str(tmp_path / 'vis'),
                                   '--config', config, '--reid-data', str(reid)])
    assert out['attention_sums'] and all(s == pytest.approx(1.0, abs=1e-4)
                                         for s in out['attention_sums'].values())
    for name in ('csr.png', 'css.png', 'tsne.png'):
        img = cv2.imread(str(tmp_path / 'vis' / name))
        assert img is not None and img.std() > 5  # drawn, not blank
    assert any(n.startswith('pca_') for n in out['files'])


def test_attention_and_norm_maps_are_distributions(root):
    """Per-head global-token attention over the 16x8 grid sums to 1 and depends on the head and the
    image; the ConvNet students get a feature-norm map that sums to 1."""
    from mmengine.config import Config

    from saip_mm.registry import MODELS
    from saip_mm.visualization import global_attention, token_maps
    vit = MODELS.build(Config.fromfile(DEMO_CFG).model.backbone)
    x = torch.randn(2, 3, 256, 128)
    maps, grid = global_attention(vit, x)
    assert grid == (16, 8) and maps.shape == (2, 3, 16, 8)
    assert torch.allclose(maps.flatten(2).sum(-1), torch.ones(2, 3), atol=1e-5)
    assert not torch.allclose(maps[0, 0], maps[0, 1]) and not torch.allclose(maps[0], maps[1])
    for name in ('saip_starnet-s3_8xb256-amp-coslr-300e_lup1m.py',
                 'saip_tinyvit-5m_8xb256-amp-coslr-300e_lup1m.py'):
        convnet = MODELS.build(Config.fromfile(osp.join(ROOT, 'configs/pretrain', name)).model.backbone)
        norm_maps, kind = token_maps(convnet, x)
        assert kind == 'feature-norm' and norm_maps.shape == (2, 1, 16, 8), name
        assert torch.allclose(norm_maps.flatten(1).sum(-1), torch.ones(2), atol=1e-5)


def test_colour_histogram_reference_and_grayscale(person_images):
    """The untrained colour reference: per-stripe histograms that sum to 1, blind to mirroring, and
    changed by a colour change; the grayscale probe of eval_backbone gives equal RGB channels."""
    import eval_backbone

    from saip_mm.models.data_preprocessor import SAIPDataPreprocessor
    from saip_mm.models.utils.retrieval import ColourHistogramEncoder
    pre = SAIPDataPreprocessor()
    imgs = torch.stack([torch.from_numpy(cv2.resize(i, (128, 256))).permute(2, 0, 1)
                        for i in person_images[:2]])
    x = pre.normalize(imgs)
    enc = ColourHistogramEncoder()
    out = enc.forward_tokens(x)
    assert out['final'][1].shape == (2, 6, 64)
    assert torch.allclose(out['final'][1].sum(-1), torch.ones(2, 6))
    assert torch.allclose(enc.forward_tokens(x.flip(-1))['final'][0], out['final'][0])
    assert not torch.allclose(enc.forward_tokens(x[:, [2, 1, 0]])['final'][0], out['final'][0])
    grey = eval_backbone.grayscale(x, pre) * pre.std + pre.mean
    assert torch.allclose(grey[:, 0], grey[:, 1], atol=1e-3)
    assert torch.allclose(grey[:, 1], grey[:, 2], atol=1e-3)


def test_grayscale_evaluation_sees_grey_images():
    """``eval_backbone.py --grayscale``: the features of a video-set batch equal those of the same
    images made grey (OpenCV's luma, in uint8) before the model, and differ from the colour ones."""
    import eval_backbone
    import torch.nn.functional as F
    from mmengine.runner import Runner
    cfg = eval_backbone.load_config(eval_backbone.parse_args(['none', '--config', DEMO_CFG,
                                                              '--batch-size', '4']))
    cfg.model.eval_cfg = dict(cfg.model.eval_cfg, scales=(1.0, ))
    batch = next(iter(Runner.build_dataloader(cfg.val_dataloader)))
    model = eval_backbone.build_model(cfg, 'none')
    grey = torch.stack([s.pred_feature for s in eval_backbone.predict_batch(model, batch, grey=True)])
    colour = torch.stack([s.pred_feature for s in model.val_step(batch)])
    bgr = [img.permute(1, 2, 0).numpy() for img in batch['inputs']]  # as loaded: BGR, uint8
    batch['inputs'] = [torch.from_numpy(cv2.cvtColor(cv2.cvtColor(b, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR))
                       .permute(2, 0, 1).contiguous() for b in bgr]
    made_grey = torch.stack([s.pred_feature for s in model.val_step(batch)])
    assert F.cosine_similarity(grey, made_grey).min() > 0.999
    assert F.cosine_similarity(grey, colour).max() < 0.99
