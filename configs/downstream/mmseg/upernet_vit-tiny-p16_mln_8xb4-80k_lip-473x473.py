# Body-part segmentation on LIP with the SAIP ViT-Tiny backbone: four blocks (3, 6, 9, 12) through
# mmseg's MultiLevelNeck into UPerNet, AdamW (paper appendix B: LIP mIoU 52.3 for SAIP ViT-Tiny with
# SCHP; this config uses mmseg's UPerNet instead, see configs/downstream/README.md).
#   tools/dist_train.sh configs/downstream/mmseg/upernet_vit-tiny-p16_mln_8xb4-80k_lip-473x473.py 8 \
#       --cfg-options model.backbone.init_cfg.checkpoint=saip_vit-tiny.pth
_base_ = [
    'mmseg::_base_/models/upernet_vit-b16_ln_mln.py', './_base_/lip_473x473.py',
    'mmseg::_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_80k.py', '../_base_/vit-tiny-p16.py'
]
custom_imports = dict(imports=['saip_mm.models'], allow_failed_imports=False)

crop_size = (473, 473)
width = 192
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(_delete_=True, **_base_.vit_tiny_p16_featmap, img_size=crop_size, out_indices=(2, 5, 8, 11)),
    neck=dict(in_channels=[width] * 4, out_channels=width),
    decode_head=dict(in_channels=[width] * 4, channels=256, num_classes=20),
    auxiliary_head=dict(in_channels=width, num_classes=20))

# AdamW without weight decay on the position embedding and norms (as mmseg's ViT-UPerNet configs)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys=dict(_base_.vit_no_decay, norm=dict(decay_mult=0.))))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=80000, by_epoch=False),
]
