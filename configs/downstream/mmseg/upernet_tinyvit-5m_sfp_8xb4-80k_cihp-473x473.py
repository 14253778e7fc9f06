# Multi-person part parsing on CIHP with the SAIP TinyViT-5M backbone: the LIP config's model and recipe on
# CIHP's whole multi-person images (configs/downstream/README.md has the layout).
#   tools/dist_train.sh configs/downstream/mmseg/upernet_tinyvit-5m_sfp_8xb4-80k_cihp-473x473.py 8 \
#       --cfg-options model.backbone.init_cfg.checkpoint=saip_tinyvit-5m.pth
_base_ = ['./upernet_vit-tiny-p16_mln_8xb4-80k_lip-473x473.py', '../_base_/tinyvit-5m.py',
          './_base_/cihp_473x473.py']
custom_imports = dict(imports=['saip_mm.models', 'saip_mm.datasets'], allow_failed_imports=False)

model = _base_.tinyvit_5m_upernet
train_dataloader = dict(dataset={{_base_.cihp_train}})
val_dataloader = dict(dataset={{_base_.cihp_val}})
test_dataloader = val_dataloader
