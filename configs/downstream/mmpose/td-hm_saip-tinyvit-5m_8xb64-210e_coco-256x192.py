# Top-down heatmap pose on COCO 256x192 with the SAIP TinyViT-5M backbone (last stage: stride 32,
# 320 channels), three deconvolutions and plain AdamW, as the StarNet-S3 config.
#   tools/dist_train.sh configs/downstream/mmpose/td-hm_saip-tinyvit-5m_8xb64-210e_coco-256x192.py 8 \
#       --cfg-options model.backbone.init_cfg.checkpoint=saip_tinyvit-5m.pth
_base_ = ['./td-hm_saip-starnet-s3_8xb64-210e_coco-256x192.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='saip_mm.SAIPTinyViT',
        arch='5m',
        img_size=(256, 192),
        out_indices=(3, ),
        drop_path_rate=0.1,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/saip_tinyvit-5m_lup1m/saip_tinyvit-5m_backbone.pth',
            prefix='backbone.')),
    head=dict(in_channels=320))
