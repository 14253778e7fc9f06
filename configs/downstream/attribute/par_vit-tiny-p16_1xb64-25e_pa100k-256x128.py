# Pedestrian attribute recognition on PA100K at 256x128 with the SAIP ViT-Tiny backbone: class-token
# feature, multi-label linear head with sigmoid BCE, AdamW, 25 epochs (paper appendix B: PAR baseline,
# 25 epochs; SAIP ViT-Tiny PA100K mA 80.7).
#   tools/train.py configs/downstream/attribute/par_vit-tiny-p16_1xb64-25e_pa100k-256x128.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=saip_vit-tiny.pth
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    './_base_/pa100k_256x128.py',
    '../_base_/vit-tiny-p16_cls-token_256x128.py',
]

num_attributes = 26
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor', num_classes=num_attributes, mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], to_rgb=True),
    head=dict(
        type='MultiLabelLinearClsHead',
        num_classes=num_attributes,
        in_channels=192,
        thr=0.5,
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)))

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(custom_keys=_base_.vit_no_decay))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=True, begin=1, end=25),
]
train_cfg = dict(by_epoch=True, max_epochs=25, val_interval=5)
val_cfg = dict()
test_cfg = dict()
