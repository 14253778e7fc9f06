# Ablation of the paper preset's CSM pairs: the expert on the anchor alone and the student on the anchor and
# two independently augmented views at their scales (2 pairs, none of the same pixels); the paper preset
# before 2026-12-03. The preset itself pairs as the authors' code does (expert on g1 and g2, 8 pairs).
#   tools/dist_train.sh configs/pretrain/saip-anchor-teacher_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py 8
_base_ = './saip_vit-tiny-p16_8xb256-amp-coslr-300e_lup1m.py'

model = _base_.anchor_teacher_pairing
train_dataloader = dict(dataset=dict(pipeline=_base_.anchor_teacher_pipeline))
