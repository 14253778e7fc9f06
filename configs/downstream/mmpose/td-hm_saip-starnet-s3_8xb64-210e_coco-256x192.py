# Top-down heatmap pose on COCO 256x192 with the SAIP StarNet-S3 backbone (stride 32, 256 channels):
# the SAIP ViT-Tiny ViTPose config with three deconvolutions (stride 32 -> 4) and plain AdamW (the
# layer-wise decay of ViTPose is ViT-specific).
#   tools/dist_train.sh configs/downstream/mmpose/td-hm_saip-starnet-s3_8xb64-210e_coco-256x192.py 8 \
#       --cfg-options model.backbone.init_cfg.checkpoint=saip_starnet-s3.pth
_base_ = ['./td-hm_saip-vit-tiny_8xb64-210e_coco-256x192.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='saip_mm.StarNet',
        arch='s3',
        out_indices=(3, ),
        drop_path_rate=0.1,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/saip_starnet-s3_lup1m/saip_starnet-s3_backbone.pth',
            prefix='backbone.')),
    head=dict(in_channels=256, deconv_out_channels=(256, 256, 256), deconv_kernel_sizes=(4, 4, 4)))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
    clip_grad=dict(max_norm=1., norm_type=2))
