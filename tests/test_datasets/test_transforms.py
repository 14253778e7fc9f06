import mmcv
import numpy as np
import pytest
import torch
from cfg_paths import OFFICIAL_CFG, PAPER_CFG

from saip_mm.datasets.transforms import (
    BoxMaskTarget,
    CopyPasteCanvas,
    MultiScaleResize,
    PackSAIPInputs,
    RandomPatchMask,
    area_downsample,
)


def _anchor(img):
    return mmcv.imresize(img, (128, 256))


def test_multi_scale_resize_sizes(person_images):
    t = MultiScaleResize(scales=(0.75, 0.875, 1.125, 1.25, 1.5))
    out = t(dict(img=_anchor(person_images[0])))
    assert [v.shape[:2] for v in out['views']] == [(192, 96), (224, 112), (288, 144), (320, 160),
                                                   (384, 192)]
    assert out['anchor'].shape == (256, 128, 3)
    # a view is the anchor resized: down-sampling it back stays close to the anchor
    back = mmcv.imresize(out['views'][4], (128, 256), interpolation='area')
    assert np.abs(back.astype(float) - out['anchor'].astype(float)).mean() < 12


def test_patch_mask_counts(person_images):
    out = MultiScaleResize(scales=(1.0, 1.25))(dict(img=_anchor(person_images[0])))
    out = RandomPatchMask(ratio=0.75)(out)
    assert [m.shape for m in out['view_masks']] == [(128,), (200,)]
    assert [int(m.sum()) for m in out['view_masks']] == [96, 150]
    # the pipeline draws with the model's sampler from numpy's (per-worker seeded) stream: a seed
    # repeats the masks, another seed gives others
    draws = []
    for seed in (7, 7, 8):
        np.random.seed(seed)
        draws.append(RandomPatchMask(ratio=0.75)(dict(out))['view_masks'][0])
    assert (draws[0] == draws[1]).all() and not (draws[0] == draws[2]).all()
    # drawn on the anchor's 16x8 grid (96 of 128 masked) and nearest-upsampled: the cells of a 20x10
    # view that share a source cell agree
    up = RandomPatchMask(ratio=0.75, draw_grid=(16, 8))(dict(out))['view_masks'][1].reshape(20, 10)
    src = {}
    for i in range(20):
        for j in range(10):
            assert src.setdefault((i * 16 // 20, j * 8 // 10), up[i, j]) == up[i, j]
    assert len(src) == 128 and sum(src.values()) == 96


def test_patch_mask_of_chosen_views_only(person_images):
    """``views``: only those views are drawn (fewer draws from numpy's stream), the others get a mask
    with nothing masked at their own grid, so the list stays aligned with the views."""
    out = MultiScaleResize(scales=(1.0, 1.25, 0.75))(dict(img=_anchor(person_images[0])))
    np.random.seed(0)
    masks = RandomPatchMask(ratio=0.75, views=(-1, ))(dict(out))['view_masks']
    after_one = np.random.rand()
    assert [m.shape for m in masks] == [(128, ), (200, ), (72, )]
    assert not masks[0].any() and not masks[1].any() and masks[2].sum() == 54
    np.random.seed(0)
    RandomPatchMask(ratio=0.75)(dict(out))
    assert np.random.rand() != after_one  # drawing all three consumes more of the stream
    with pytest.raises(ValueError, match=r'RandomPatchMask\.views \[3\]: \[3\] out of range for 3 views'):
        RandomPatchMask(views=(3, ))(dict(out))


def test_box_masks_cover_exactly_the_pasted_pixels(person_images, background_image):
    np.random.seed(3)
    anchor = _anchor(person_images[0])
    results = dict(img=anchor, background=background_image,
                   mix_results=[dict(img=im) for im in person_images[1:4]])
    t = CopyPasteCanvas(canvas_size=(224, 224), max_instances=4, min_instances=4, alpha=1.0,
                        min_visible=0.0)
    for _ in range(5):
        out = t(dict(results))
        canvas, imap, boxes = out['canvas'], out['instance_map'], out['instance_boxes']
        assert canvas.shape == (224, 224, 3) and imap.shape == (224, 224)
        for i, box in enumerate(boxes):
            x1, y1, x2, y2 = box.astype(int)
            inside = np.zeros_like(imap, dtype=bool)
            inside[y1:y2, x1:x2] = True
            # an instance is visible only inside its pasted box
            assert not ((imap == i) & ~inside).any()
        # the own person's visible pixels are exactly its resized crop
        x1, y1, x2, y2 = boxes[0].astype(int)
        own = mmcv.imresize(anchor, (x2 - x1, y2 - y1))
        vis = imap[y1:y2, x1:x2] == 0
        assert vis.any()
        assert np.array_equal(canvas[y1:y2, x1:x2][vis], own[vis])
        target = BoxMaskTarget(patch_size=16)(out)['canvas_target']
        assert target.shape == (14, 14)
        # area down-sampling: each cell holds the exact fraction of its pixels that are visible
        expected = (imap == 0).reshape(14, 16, 14, 16).mean(axis=(1, 3))
        assert np.allclose(target, expected)
        assert np.isclose(target.sum() * 256, (imap == 0).sum())


def test_area_downsample_is_not_nearest():
    mask = np.zeros((224, 224), bool)
    mask[8:40, 0:16] = True  # a box that starts half-way into a 16-px cell
    cells = area_downsample(mask, (14, 14))
    assert cells[0, 0] == pytest.approx(0.5) and cells[1, 0] == 1 and cells[2, 0] == pytest.approx(0.5)


def test_blended_paste(person_images, background_image):
    np.random.seed(0)
    out = CopyPasteCanvas(max_instances=1, alpha=0.7)(dict(img=_anchor(person_images[0]),
                                                           background=background_image))
    x1, y1, x2, y2 = out['instance_boxes'][0].astype(int)
    own = mmcv.imresize(_anchor(person_images[0]), (x2 - x1, y2 - y1)).astype(float)
    diff = np.abs(out['canvas'][y1:y2, x1:x2].astype(float) - own)
    assert 0 < diff.mean() < 0.3 * 255


def test_pack(person_images, background_image):
    np.random.seed(0)
    r = dict(img=_anchor(person_images[0]), background=background_image,
             mix_results=[dict(img=person_images[1])], img_path='x.jpg')
    for t in (MultiScaleResize(scales=(0.75, 1.25)), RandomPatchMask(), CopyPasteCanvas(),
              BoxMaskTarget(), PackSAIPInputs()):
        r = t(r)
    inputs = r['inputs']
    assert inputs['anchor'].shape == (3, 256, 128) and inputs['anchor'].dtype == torch.uint8
    assert [tuple(v.shape) for v in inputs['views']] == [(3, 192, 96), (3, 320, 160)]
    assert inputs['canvas'].shape == (3, 224, 224)
    assert inputs['canvas_target'].shape == (14, 14)
    assert [m.dtype for m in inputs['view_masks']] == [torch.bool, torch.bool]
    assert r['data_samples'].img_path == 'x.jpg'


def _build_sample(root, config, idx=0, **ds_overrides):
    import os.path as osp

    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from saip_mm.registry import DATASETS
    cfg = Config.fromfile(osp.join(root, config))
    ds = cfg.train_dataloader.dataset
    ds.update(data_root=osp.join(root, 'demo/persons'), ann_file='list.txt',
              background_dir='backgrounds', **ds_overrides)
    with DefaultScope.overwrite_default_scope('saip_mm'):
        return cfg, DATASETS.build(ds)[idx]


def test_official_code_multi_crop_pipeline(root):
    """The code-faithful preset, view for view (see the config's table): 2 global + 7 local crops,
    l6 and the shrunk anchor rescaled with nearest interpolation, the x1.25 CSR view of g2 (nearest),
    and a canvas holding the two 128x64 crops side by side with one target per CSS query."""
    np.random.seed(0)
    _, sample = _build_sample(root, OFFICIAL_CFG)
    inputs = sample['inputs']
    sizes = [tuple(v.shape[1:]) for v in inputs['views']]
    assert tuple(inputs['anchor'].shape[1:]) == (256, 128)
    assert sizes == [(256, 128)] + [(128, 64)] * 6 + [(160, 80), (96, 48), (320, 160)]
    # the CSR mask: 75 % of the anchor's 16x8 grid, nearest-upsampled to the view's 20x10 grid
    mask = np.asarray(inputs['view_masks'][-1]).reshape(20, 10)
    src = (np.arange(20)[:, None] * 16 // 20) * 8 + (np.arange(10)[None, :] * 8 // 10)
    drawn = {}
    for cell, value in zip(src.reshape(-1), mask.reshape(-1)):
        assert drawn.setdefault(cell, value) == value  # one value per source cell
    assert len(drawn) == 128 and sum(drawn.values()) == 96
    assert np.allclose(sample['data_samples'].view_scales[-3:], [0.625, 0.375, 1.25])
    # the shrunk anchor is the anchor, nearest-resized (every 2nd pixel, then nearest x0.75)
    anchor = inputs['anchor'].numpy().transpose(1, 2, 0)
    shrunk = mmcv.imresize(anchor, (64, 128), interpolation='nearest')
    assert np.array_equal(inputs['views'][8].numpy().transpose(1, 2, 0),
                          mmcv.imresize(shrunk, (48, 96), interpolation='nearest'))
    # the CSR view is g2 nearest-up-scaled x1.25
    g2 = inputs['views'][0].numpy().transpose(1, 2, 0)
    assert np.array_equal(inputs['views'][9].numpy().transpose(1, 2, 0),
                          mmcv.imresize(g2, (160, 320), interpolation='nearest'))
    # two 128x64 instances, side by side without overlap; one target per query instance
    boxes = sample['data_samples'].instance_boxes
    assert boxes.shape == (2, 4)
    assert np.allclose(boxes[:, 2] - boxes[:, 0], 64) and np.allclose(boxes[:, 3] - boxes[:, 1], 128)
    assert boxes[1, 0] >= boxes[0, 2]
    target = inputs['canvas_target']
    assert tuple(target.shape) == (2, 14, 14)
    for box, t in zip(boxes, target.numpy()):
        assert abs(t.sum() * 256 - 64 * 128) < 1e-3  # each target covers exactly its box's area
        # all the coverage lies in the cells the box touches (first cell floor, last cell ceil)
        x1, y1 = (int(np.floor(v / 16)) for v in box[:2])
        x2, y2 = (int(np.ceil(v / 16)) for v in box[2:])
        assert t[y1:y2, x1:x2].sum() == pytest.approx(t.sum())


@pytest.mark.slow
def test_paper_views_are_independent_augmentations(root):
    """Paper preset: each view is its own crop + colour augmentation of the source, not a resize of
    the anchor. Resized back to the anchor's size, a view differs from the anchor far more than a bare
    resize does, and at the anchor's own scale it is no longer identical to it."""
    import torch
    from mmengine.dataset import pseudo_collate

    from saip_mm.models import SAIPDataPreprocessor
    np.random.seed(0)
    torch.manual_seed(0)
    cfg, _ = _build_sample(root, PAPER_CFG)
    samples = [_build_sample(root, PAPER_CFG, idx=i)[1]
               for i in range(0, 80, 10)]
    batch = pseudo_collate(samples)
    # g2 (kept at the anchor size for the expert) and the two independent multi-resolution views
    assert [tuple(v.shape[1:]) for v in samples[0]['inputs']['views']] == [(256, 128)] * 3

    def views_of(source, scale_range):
        pre = SAIPDataPreprocessor(view_scale_range=scale_range, view_source=source)
        out = pre(batch, training=True)['inputs']
        return out['anchor'], out['views']

    # the anchor's own scale: bare resizes are the anchor itself, augmented views are not
    anchor, views = views_of('anchor', (1.0, 1.0))
    assert all(torch.equal(v, anchor) for v in views)
    anchor, views = views_of('views', (1.0, 1.0))
    assert not any(torch.equal(v, anchor) for v in views)
    assert not torch.equal(views[0], views[1])

    def diff_back(source):
        anchor, views = views_of(source, (0.75, 1.5))
        back = [torch.nn.functional.interpolate(v, size=anchor.shape[-2:], mode='bilinear')
                for v in views]
        return float(sum((b - anchor).abs().mean() for b in back) / len(back))

    bare, independent = diff_back('anchor'), diff_back('views')
    assert independent > 4 * bare, (bare, independent)


def test_shared_multi_view_makes_mmpretrains_views_without_copies(root, person_images, background_image):
    """SharedMultiView gives the views mmpretrain's MultiView gives from the same draws (DINO's CPU
    augmentations included), leaves the sample and its extra images unchanged, and refuses a view
    transform that writes into them in place."""
    import os.path as osp

    from mmengine.config import Config
    from mmpretrain.datasets.transforms import MultiView

    from saip_mm.datasets.transforms import SharedMultiView
    from saip_mm.registry import TRANSFORMS
    from saip_mm.utils import register_all_modules
    register_all_modules()
    base = Config.fromfile(osp.join(root, 'configs/pretrain/_base_/datasets/lup1m_saip.py'))
    groups = [base.global1_aug, base.global2_aug, base.local_aug]
    with TRANSFORMS.switch_scope_and_registry('saip_mm'):
        ours = SharedMultiView(transforms=groups, num_views=[1, 2, 3])
        theirs = MultiView(transforms=groups, num_views=[1, 2, 3])

    def sample():
        return dict(img=person_images[0].copy(), background=background_image.copy(),
                    mix_results=[dict(img=person_images[1].copy())])

    import random
    for seed in range(3):  # numpy's stream and Python's (mmcv's RandomGrayscale draws from the latter)
        np.random.seed(seed), random.seed(seed)
        a = ours(sample())
        np.random.seed(seed), random.seed(seed)
        b = theirs(sample())
        assert len(a['img']) == 6 and all(np.array_equal(x, y) for x, y in zip(a['img'], b['img']))
    s = sample()
    ours(s)
    assert np.array_equal(s['background'], background_image) and s['background'].flags.writeable
    assert np.array_equal(s['mix_results'][0]['img'], person_images[1])

    def zero_in_place(results):
        results['img'][:] = 0
        return results

    with pytest.raises(ValueError, match='read-only'):
        SharedMultiView(transforms=[[zero_in_place]], num_views=[2])(sample())
