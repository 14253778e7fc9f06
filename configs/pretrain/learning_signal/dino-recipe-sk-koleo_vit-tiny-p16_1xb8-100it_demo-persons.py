# The DINO baseline under `make demo`'s config (the recipe with Sinkhorn-Knopp centring and KoLeo; docs/
# results.md): DINO's model and multi-crop views with the same lr rule, momentum, fixed τt, freeze,
# clipping, schedule and anti-collapse units as SAIP.
_base_ = ['../saip-recipe_vit-tiny-p16_1xb8-100it_demo-persons.py', '../../baselines/dino/_base_/dino.py']

model = dict(_base_.dino_model, csm=dict(_base_.dino_model['csm'], **_base_.demo_anti_collapse))
train_dataloader = dict(dataset=dict(pipeline=_base_.dino_multicrop_pipeline))
custom_hooks = _base_.recipe_hooks
