# CPU demo of the PersonViT baseline: the DINO CPU demo plus the masked patch distillation.
#   python tools/train.py configs/baselines/personvit/personvit_vit-tiny-p16_1xb8-100it_demo-persons.py
_base_ = ['../dino/dino_vit-tiny-p16_1xb8-100it_demo-persons.py', './_base_/personvit.py']

model = _base_.personvit_model
model.mim.update(_base_.personvit_demo_mim)
model.mim.head.teacher_temp = _base_.dino_demo_teacher_temp  # warmed up as the CSM head's (iBOT)
