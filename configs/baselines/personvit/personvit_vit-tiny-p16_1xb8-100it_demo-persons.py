# CPU demo of the PersonViT baseline: the DINO CPU demo (dino/_base_/dino.py: its demo model, crops and
# hooks, on the SAIP CPU demo) plus the masked patch distillation.
#   python tools/train.py configs/baselines/personvit/personvit_vit-tiny-p16_1xb8-100it_demo-persons.py
_base_ = ['../../pretrain/saip_vit-tiny-p16_1xb8-100it_demo-persons.py', '../dino/_base_/dino.py',
          './_base_/personvit.py']

model = _base_.personvit_model
model.update(_base_.dino_demo_model)
model.mim.update(_base_.personvit_demo_mim)
model.mim.head.teacher_temp = _base_.dino_demo_teacher_temp  # warmed up as the CSM head's (iBOT)
model.mim.neck.freeze_last_layer = dict(type='FirstSteps', iters=10)  # frozen as the CSM projector
train_dataloader = dict(dataset=dict(pipeline=_base_.dino_multicrop_pipeline))
custom_hooks = _base_.dino_demo_hooks
