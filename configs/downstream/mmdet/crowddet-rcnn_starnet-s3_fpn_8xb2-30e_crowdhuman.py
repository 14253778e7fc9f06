# CrowdDet on CrowdHuman with the SAIP StarNet-S3 backbone: its four stages (strides 4-32, 32-256
# channels) into mmdet's FPN (5 levels, as CrowdDet's ResNet-50 config), AdamW lr 2e-4 as the ViT-Tiny
# config (paper appendix B).
#   tools/dist_train.sh configs/downstream/mmdet/crowddet-rcnn_starnet-s3_fpn_8xb2-30e_crowdhuman.py 8 \
#       --cfg-options model.backbone.init_cfg.checkpoint=saip_starnet-s3.pth
_base_ = ['./crowddet-rcnn_vit-tiny-p16_sfp_8xb2-30e_crowdhuman.py', '../_base_/starnet-s3.py']

model = dict(
    backbone={{_base_.starnet_s3_pyramid}},
    neck=dict(_delete_=True, type='FPN', in_channels=[32, 64, 128, 256], out_channels=256, num_outs=5))
