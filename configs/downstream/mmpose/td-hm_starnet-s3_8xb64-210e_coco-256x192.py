# Top-down heatmap pose on COCO 256x192 with the SAIP StarNet-S3 backbone (last stage: stride 32, 256
# channels): the SAIP ViT-Tiny ViTPose config with three deconvolutions and plain AdamW.
#   tools/dist_train.sh configs/downstream/mmpose/td-hm_starnet-s3_8xb64-210e_coco-256x192.py 8 \
#       --cfg-options model.backbone.init_cfg.checkpoint=saip_starnet-s3.pth
_base_ = [
    './td-hm_vit-tiny-p16_8xb64-210e_coco-256x192.py',
    '../_base_/starnet-s3.py',
    './_base_/convnet_pose.py',
]

model = dict(
    backbone={{_base_.starnet_s3_backbone}},
    head=dict(in_channels={{_base_.gap_channels}}, deconv_out_channels={{_base_.deconv_out_channels}},
              deconv_kernel_sizes={{_base_.deconv_kernel_sizes}}))
optim_wrapper = {{_base_.convnet_optim_wrapper}}
