# Body-part segmentation on LIP with the SAIP ViT-Tiny backbone: four blocks (3, 6, 9, 12) through
# mmseg's MultiLevelNeck into UPerNet, AdamW (paper appendix B: LIP mIoU 52.3 for SAIP ViT-Tiny with
# SCHP; this config uses mmseg's UPerNet instead, see configs/downstream/README.md).
#   tools/dist_train.sh configs/downstream/mmseg/upernet_vit-tiny-p16_mln_8xb4-80k_lip-473x473.py 8 \
#       --cfg-options model.backbone.init_cfg.checkpoint=saip_vit-tiny.pth
_base_ = [
    'mmseg::_base_/models/upernet_vit-b16_ln_mln.py', './_base_/lip_473x473.py',
    'mmseg::_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_80k.py'
]
custom_imports = dict(imports=['saip_mm.models'], allow_failed_imports=False)

crop_size = (473, 473)
pretrained = 'work_dirs/saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m/saip_vit-tiny_backbone.pth'
width = 192
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        _delete_=True,
        type='saip_mm.SAIPViT',
        arch='deit-tiny',
        img_size=crop_size,
        patch_size=16,
        qkv_bias=True,
        drop_path_rate=0.1,
        with_cls_token=False,
        out_type='featmap',
        out_indices=(2, 5, 8, 11),
        pretrained_grid=(16, 8),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(in_channels=[width] * 4, out_channels=width),
    decode_head=dict(in_channels=[width] * 4, channels=256, num_classes=20),
    auxiliary_head=dict(in_channels=width, num_classes=20))

# AdamW without weight decay on the position embedding and norms (as mmseg's ViT-UPerNet configs)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={
        'pos_embed': dict(decay_mult=0.),
        'cls_token': dict(decay_mult=0.),
        'norm': dict(decay_mult=0.),
        'ln': dict(decay_mult=0.)
    }))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=80000, by_epoch=False),
]
