# Linear probe on PA100K (issue 15: a label-based figure of what pretraining learned): the pretrained
# ViT-Tiny is frozen (patch embedding, position embedding, class token, all 12 blocks and the final norm:
# mmpretrain's frozen_stages), only the linear multi-label head learns; no drop path.
#   tools/train.py configs/downstream/attribute/par_linear-probe_vit-tiny-p16_1xb64-25e_pa100k-256x128.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/demo/saip_vit-tiny_backbone.pth
# Any ViT-Tiny checkpoint exported with prefix 'backbone.' (a baseline's too) is welcome.
_base_ = './par_vit-tiny-p16_1xb64-25e_pa100k-256x128.py'

model = dict(backbone=dict(frozen_stages=12, drop_path_rate=0.0))
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.0))
