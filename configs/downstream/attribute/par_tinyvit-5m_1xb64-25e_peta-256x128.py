# Pedestrian attributes on PETA (35 attributes) with the SAIP TinyViT-5M backbone: the PA100K config's model
# and recipe (paper appendix B: PAR baseline, 25 epochs; the paper reports PETA-zs mA).
#   tools/train.py configs/downstream/attribute/par_tinyvit-5m_1xb64-25e_peta-256x128.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=saip_tinyvit-5m.pth
_base_ = ['./par_vit-tiny-p16_1xb64-25e_pa100k-256x128.py', '../_base_/tinyvit-5m.py',
          './_base_/peta_256x128.py']

model = dict(data_preprocessor=dict(num_classes={{_base_.peta_num_attributes}}),
             backbone={{_base_.tinyvit_5m_backbone}}, neck={{_base_.gap_neck}},
             head=dict(in_channels={{_base_.gap_channels}}, num_classes={{_base_.peta_num_attributes}}))
train_dataloader = dict(dataset={{_base_.peta_train}})
val_dataloader = dict(dataset={{_base_.peta_test}})
test_dataloader = val_dataloader
