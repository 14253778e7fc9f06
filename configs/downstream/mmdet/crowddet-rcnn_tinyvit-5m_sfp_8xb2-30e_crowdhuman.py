# CrowdDet on CrowdHuman with the SAIP TinyViT-5M backbone: its stride-16 stage (160 channels, the map
# SAIP pretrains) through the simple feature pyramid (strides 4-64), as the ViT-Tiny config.
#   tools/dist_train.sh configs/downstream/mmdet/crowddet-rcnn_tinyvit-5m_sfp_8xb2-30e_crowdhuman.py 8 \
#       --cfg-options model.backbone.init_cfg.checkpoint=saip_tinyvit-5m.pth
_base_ = ['./crowddet-rcnn_vit-tiny-p16_sfp_8xb2-30e_crowdhuman.py', '../_base_/tinyvit-5m.py']

model = dict(backbone={{_base_.tinyvit_5m_stride16}}, neck=dict(in_channels=160))
