# `make demo`'s recipe at half the input size and four times the batch (issue 26 §2: "batch 8 against the
# largest batch that fits at a reduced input size"): the same tokens a step, the same 100 steps, four
# times the images. 128x64 is the demo crops' own size (demo/persons: 128x64 JPEGs, which the demo
# upsamples to 256x128), so the crops lose nothing; the views' scales (0.75-1.5 of the anchor) give
# 96x48 to 192x96, the canvas is 112x112. The student's position embeddings stay those of 256x128,
# interpolated to each grid as for every view; the evaluation is the demo's, at 256x128.
# The recipe's rules at batch 32: lr 5e-4 x 32 / 256, the prototypes frozen for one epoch (14 steps).
_base_ = '../saip-recipe_vit-tiny-p16_1xb8-100it_demo-persons.py'

batch = 32
size = (128, 64)
lr = _base_.paper_base_lr * batch / 256

half_crop = dict(_base_.person_crop, scale=size)
train_pipeline = [
    dict(type='SharedMultiView', num_views=[1, 3],
         transforms=[[half_crop, *_base_.global1_aug[1:]], [half_crop, *_base_.global2_aug[1:]]]),
    *_base_.train_pipeline[1:2],
    dict(_base_.train_pipeline[2], canvas_size=(112, 112)),
    *_base_.train_pipeline[3:],
]
model = dict(data_preprocessor=dict(anchor_size=size))
train_dataloader = dict(batch_size=batch, dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=lr))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=_base_.warmup),
    dict(type='CosineAnnealingLR', T_max=_base_.max_iters - _base_.warmup, eta_min=lr * 0.02, by_epoch=False,
         begin=_base_.warmup, end=_base_.max_iters),
]
auto_scale_lr = dict(base_batch_size=batch)
custom_hooks = _base_.recipe_hooks
