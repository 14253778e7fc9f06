# Pedestrian attributes on PA100K with the SAIP tinyvit-5m backbone: the ViT-Tiny recipe (multi-label
# linear head, sigmoid BCE, AdamW, 25 epochs) on the average-pooled last stage.
#   tools/train.py configs/downstream/attribute/par_tinyvit-5m_1xb64-25e_pa100k-256x128.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=saip_tinyvit-5m.pth
_base_ = ['./par_vit-tiny-p16_1xb64-25e_pa100k-256x128.py', '../_base_/tinyvit-5m.py']

model = dict(backbone={{_base_.tinyvit_5m_backbone}}, neck={{_base_.gap_neck}},
             head=dict(in_channels={{_base_.gap_channels}}))
