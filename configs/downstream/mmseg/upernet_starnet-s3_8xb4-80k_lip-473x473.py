# LIP body-part segmentation with the SAIP StarNet-S3 backbone: its four stages (strides 4-32,
# 32-256 channels) feed UPerNet directly (no multi-level neck, which only rebuilds a pyramid for ViTs).
#   tools/dist_train.sh configs/downstream/mmseg/upernet_starnet-s3_8xb4-80k_lip-473x473.py 8 \
#       --cfg-options model.backbone.init_cfg.checkpoint=saip_starnet-s3.pth
_base_ = ['./upernet_vit-tiny-p16_mln_8xb4-80k_lip-473x473.py', '../_base_/starnet-s3.py']

model = _base_.starnet_s3_upernet
