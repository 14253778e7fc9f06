# The DINO baseline under the demo's small-batch recipe and budget (docs/results.md): DINO's model and
# multi-crop views, the recipe's lr rule, momentum, fixed τt, freeze, clipping and schedule.
_base_ = ['../saip-recipe_vit-tiny-p16_1xb8-100it_demo-persons.py', '../../baselines/dino/_base_/dino.py']

model = _base_.dino_model
train_dataloader = dict(dataset=dict(pipeline=_base_.dino_multicrop_pipeline))
custom_hooks = _base_.recipe_hooks
