# LIP body-part segmentation with the SAIP TinyViT-5M backbone. Its stride-16 stage (160 channels, the
# map SAIP pretrains; its output norm is in the exported checkpoint) goes through the simple feature
# pyramid (strides 4-32) into UPerNet.
#   tools/dist_train.sh configs/downstream/mmseg/upernet_tinyvit-5m_sfp_8xb4-80k_lip-473x473.py 8 \
#       --cfg-options model.backbone.init_cfg.checkpoint=saip_tinyvit-5m.pth
_base_ = ['./upernet_vit-tiny-p16_mln_8xb4-80k_lip-473x473.py', '../_base_/tinyvit-5m.py']

model = _base_.tinyvit_5m_upernet
