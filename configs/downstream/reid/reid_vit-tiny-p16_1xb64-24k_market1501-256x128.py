# Image person ReID on Market-1501 at 256x128 with the SAIP ViT-Tiny backbone: class-token feature,
# BNNeck (mmdet LinearReIDHead), cross-entropy with label smoothing + hard-mining triplet loss,
# AdamW lr 2e-4 for ~120 epochs of 64-image PK batches (paper appendix B: TransReID baseline,
# 120 epochs, lr 2e-4; SAIP ViT-Tiny Market Rank-1 93.6). MSMT17: use dataset_type MSMT17Dataset.
#   tools/train.py configs/downstream/reid/reid_vit-tiny-p16_1xb64-24k_market1501-256x128.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=saip_vit-tiny.pth
_base_ = [
    'mmdet::_base_/default_runtime.py',
    './_base_/market1501_256x128.py',
    '../_base_/vit-tiny-p16_cls-token_256x128.py',
]

num_train_ids = 751  # Market-1501 training identities
model = dict(
    type='BaseReID',
    data_preprocessor=dict(
        type='ReIDDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        to_rgb=True),
    head=dict(
        type='LinearReIDHead',
        num_fcs=0,
        in_channels=192,
        fc_channels=192,
        out_channels=192,
        num_classes=num_train_ids,
        loss_cls=dict(type='mmpretrain.LabelSmoothLoss', label_smooth_val=0.1, loss_weight=1.0),
        loss_triplet=dict(type='TripletLoss', margin=0.3, loss_weight=1.0)))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(custom_keys=dict(_base_.vit_no_decay, bn=dict(decay_mult=0.))))
max_iters = 24000  # 120 epochs x 12,936 images / 64 per batch
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=1000),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=False, begin=1000, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=4000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=4000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
