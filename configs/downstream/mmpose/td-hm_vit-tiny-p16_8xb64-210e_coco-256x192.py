# ViTPose (classic deconv head, UDP codec, layer-wise lr decay, AdamW, 210 epochs) on COCO keypoints
# 256x192 with the SAIP ViT-Tiny backbone (paper appendix B: COCO AP 70.1 for SAIP ViT-Tiny).
#   tools/dist_train.sh configs/downstream/mmpose/td-hm_vit-tiny-p16_8xb64-210e_coco-256x192.py 8 \
#       --cfg-options model.backbone.init_cfg.checkpoint=saip_vit-tiny.pth
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_ViTPose-small_8xb64-210e_coco-256x192.py',
    '../_base_/vit-tiny-p16.py',
]

custom_imports = dict(
    imports=['mmpose.engine.optim_wrappers.layer_decay_optim_wrapper', 'saip_mm.models'],
    allow_failed_imports=False)

model = dict(
    backbone=dict(_delete_=True, **_base_.vit_tiny_p16_featmap, img_size=(256, 192)),
    head=dict(in_channels=192),
)
