# Code-faithful preset: what the authors' released code does where it differs from the paper
# (spec §2, §5): the code's fixed scale set with two nearest-interpolated views, an 8-block
# self-attention CSR decoder fed with the anchor's global token only, blended 2-instance canvases.
_base_ = './saip_vit-tiny_lup1m.py'

model = dict(
    data_preprocessor=dict(view_scale_range=None),
    csr=dict(kv='cls', neck=dict(layout='self', depth=8, embed_dims=512, num_heads=16)),
)

_pipeline = [
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomApply', prob=0.8, transforms=[
        dict(type='mmpretrain.ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)]),
    dict(type='Resize', scale=(128, 256), keep_ratio=False, interpolation='bicubic'),
    dict(type='MultiScaleResize', scales=(0.75, 0.875, 1.125, 1.25), nearest_views=(0, 3)),
    dict(type='RandomPatchMask', ratio=0.75, patch_size=16),
    dict(type='CopyPasteCanvas', canvas_size=(224, 224), max_instances=2, min_instances=2,
         height_range=(0.57, 0.57), alpha=0.7),
    dict(type='BoxMaskTarget', patch_size=16),
    dict(type='PackSAIPInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=_pipeline))
