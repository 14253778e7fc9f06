# Image person ReID on Market-1501 with the SAIP starnet-s3 backbone: the ViT-Tiny ReID recipe (BNNeck,
# label-smoothed CE + hard triplet, AdamW lr 2e-4, PK batches) on the average-pooled last stage.
#   tools/train.py configs/downstream/reid/reid_starnet-s3_1xb64-24k_market1501-256x128.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=saip_starnet-s3.pth
_base_ = ['./reid_vit-tiny-p16_1xb64-24k_market1501-256x128.py', '../_base_/starnet-s3.py']

model = dict(backbone={{_base_.starnet_s3_backbone}}, neck={{_base_.gap_neck}},
             head=dict(in_channels={{_base_.gap_channels}}, fc_channels={{_base_.gap_channels}},
                       out_channels={{_base_.gap_channels}}))
