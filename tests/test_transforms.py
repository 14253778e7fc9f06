import mmcv
import numpy as np
import pytest
import torch

from saip_mm.datasets.transforms import (BoxMaskTarget, CopyPasteCanvas, MultiScaleResize,
                                         PackSAIPInputs, RandomPatchMask, area_downsample)


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


def test_official_code_multi_crop_pipeline(root):
    """The code-faithful preset: 2 global + 8 local crops (mmpretrain.MultiView), two nearest views
    and the x1.25 CSR view of the second global crop, masks for every view."""
    import os.path as osp

    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from saip_mm.registry import DATASETS
    np.random.seed(0)
    cfg = Config.fromfile(osp.join(root, 'configs/pretrain/saip_vit-tiny_lup1m_official-code.py'))
    ds = cfg.train_dataloader.dataset
    ds.update(data_root=osp.join(root, 'demo/persons'), ann_file='list.txt')
    with DefaultScope.overwrite_default_scope('saip_mm'):
        sample = DATASETS.build(ds)[0]
    inputs = sample['inputs']
    sizes = [tuple(v.shape[1:]) for v in inputs['views']]
    assert tuple(inputs['anchor'].shape[1:]) == (256, 128)
    assert sizes == [(256, 128)] + [(128, 64)] * 8 + [(224, 112), (288, 144), (320, 160)]
    assert [int(m.sum()) for m in inputs['view_masks']] == [96] + [24] * 8 + [74, 122, 150]
    assert np.allclose(sample['data_samples'].view_scales[-3:], [0.875, 1.125, 1.25])
    # two instances on every canvas, as in the authors' code
    assert sample['data_samples'].instance_boxes.shape == (2, 4)
