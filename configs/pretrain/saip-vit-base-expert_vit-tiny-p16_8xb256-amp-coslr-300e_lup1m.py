# SAIP* with the vit-tiny student: the expert is a frozen pretrained ViT-Base instead of the EMA student;
# its 768-d tokens reach the decoders through a learned projection to 192-d (SAIP.expert_proj).
#   tools/dist_train.sh configs/pretrain/saip-vit-base-expert_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py 8 \
#       --cfg-options model.expert.checkpoint=checkpoints/expert_vit-base.pth
_base_ = ['./saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py', './_base_/experts/vit-base.py']

model = dict(expert={{_base_.expert_vit_base}})
