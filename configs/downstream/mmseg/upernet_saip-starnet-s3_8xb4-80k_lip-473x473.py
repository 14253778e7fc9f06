# LIP body-part segmentation with the SAIP StarNet-S3 backbone: its four stages (strides 4-32,
# 32-256 channels) feed UPerNet directly (no multi-level neck, which only rebuilds a pyramid for ViTs).
#   tools/dist_train.sh configs/downstream/mmseg/upernet_saip-starnet-s3_8xb4-80k_lip-473x473.py 8 \
#       --cfg-options model.backbone.init_cfg.checkpoint=saip_starnet-s3.pth
_base_ = ['./upernet_saip-vit-tiny_mln_8xb4-80k_lip-473x473.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='saip_mm.StarNet',
        arch='s3',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/saip_starnet-s3_lup1m/saip_starnet-s3_backbone.pth',
            prefix='backbone.')),
    neck=None,
    decode_head=dict(in_channels=[32, 64, 128, 256]),
    auxiliary_head=dict(in_channels=128, in_index=2))
