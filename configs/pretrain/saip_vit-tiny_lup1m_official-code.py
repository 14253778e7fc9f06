# Code-faithful preset: what the authors' released code does where it differs from the paper
# (spec §2, §5): DINO-style multi-crop (2 global 256x128 + 8 local 128x64 views), two views rescaled
# with nearest interpolation from the code's scale set, CSR on the second global view up-scaled x1.25
# (320x160) with an 8-block self-attention decoder fed with the anchor's global token only, CSM
# targets from both global views, and fixed blended 2-instance canvases.
_base_ = './saip_vit-tiny_lup1m.py'

model = dict(
    data_preprocessor=dict(view_scale_range=None),
    csm=dict(teacher_views=[0, 1]),
    csr=dict(kv='cls', view_index=-1, neck=dict(layout='self', depth=8, embed_dims=512, num_heads=16)),
)

_colour = [
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomApply', prob=0.8, transforms=[
        dict(type='mmpretrain.ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)]),
    dict(type='mmpretrain.RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
]
_global = dict(type='mmpretrain.RandomResizedCrop', scale=(256, 128), crop_ratio_range=(0.8, 1.0),
               aspect_ratio_range=(0.4, 0.6), interpolation='bicubic', backend='pillow')
_local = dict(_global, scale=(128, 64), crop_ratio_range=(0.05, 0.8))


def _blur(prob):
    return dict(type='mmpretrain.GaussianBlur', magnitude_range=(0.1, 2.0), magnitude_std='inf',
                prob=prob)


_pipeline = [
    dict(type='mmpretrain.MultiView', num_views=[1, 1, 8], transforms=[
        [_global, *_colour, _blur(1.0)],
        [_global, *_colour, _blur(0.1), dict(type='mmpretrain.Solarize', thr=128, prob=0.2)],
        [_local, *_colour, _blur(0.5)],
    ]),
    dict(type='AssignViews'),
    # two views of the second global crop at the code's scales, nearest-resized (fixed per slot so
    # that a batch stacks; the code draws them from {0.75, 0.875, 1.125, 1.25})
    dict(type='MultiScaleResize', scales=(0.875, 1.125), src_view=0, nearest_views=(0, 1),
         append=True),
    # CSR target: the second global crop up-scaled x1.25 (320x160); the last view
    dict(type='MultiScaleResize', scales=(1.25,), src_view=0, append=True),
    dict(type='RandomPatchMask', ratio=0.75, patch_size=16),
    dict(type='CopyPasteCanvas', canvas_size=(224, 224), max_instances=2, min_instances=2,
         height_range=(0.57, 0.57), alpha=0.7),
    dict(type='BoxMaskTarget', patch_size=16),
    dict(type='PackSAIPInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=_pipeline))
