# ViTPose with the SAIP ViT-Tiny backbone on COCO-WholeBody (133 keypoints) 256x192
# (paper appendix B: WholeBody AP 45.7 for SAIP ViT-Tiny). Same model and schedule as the COCO config.
_base_ = ['./td-hm_vit-tiny-p16_8xb64-210e_coco-256x192.py', './_base_/coco-wholebody.py']

model = dict(head={{_base_.wholebody_head}})
train_dataloader = {{_base_.wholebody_train_dataloader}}
val_dataloader = test_dataloader = {{_base_.wholebody_val_dataloader}}
val_evaluator = test_evaluator = {{_base_.wholebody_evaluator}}
default_hooks = {{_base_.wholebody_hooks}}
