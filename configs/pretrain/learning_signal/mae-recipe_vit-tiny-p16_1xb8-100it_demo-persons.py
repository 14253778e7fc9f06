# The MAE baseline under the demo's small-batch recipe and budget (docs/results.md): MAE's model and
# crops, the recipe's lr rule, clipping and schedule (no expert: no momentum, τt or freeze).
_base_ = ['../saip-recipe_vit-tiny-p16_1xb8-100it_demo-persons.py', '../../baselines/mae/_base_/mae.py']

model = _base_.mae_model
mae_pipeline = [dict(_base_.person_crop, **_base_.mae_crop)] + _base_.mae_flip_pack
train_dataloader = dict(dataset=dict(pipeline=mae_pipeline))
custom_hooks = [h for h in _base_.recipe_hooks if h['type'] != 'ExpertEMAHook']
