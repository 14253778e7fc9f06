# Top-down heatmap pose on COCO-WholeBody 256x192 with the SAIP StarNet-S3 backbone (last stage: stride 32,
# 256 channels): the COCO config of this backbone (three deconvolutions, plain AdamW).
#   tools/dist_train.sh \
#       configs/downstream/mmpose/td-hm_starnet-s3_8xb64-210e_coco-wholebody-256x192.py 8 \
#       --cfg-options model.backbone.init_cfg.checkpoint=saip_starnet-s3.pth
_base_ = ['./td-hm_starnet-s3_8xb64-210e_coco-256x192.py', './_base_/coco-wholebody.py']

model = dict(head={{_base_.wholebody_head}})
train_dataloader = {{_base_.wholebody_train_dataloader}}
val_dataloader = test_dataloader = {{_base_.wholebody_val_dataloader}}
val_evaluator = test_evaluator = {{_base_.wholebody_evaluator}}
default_hooks = {{_base_.wholebody_hooks}}
