# The recipe (saip-recipe_*) with the anchor-teacher CSM pairs (expert on the anchor alone, 2 pairs): the
# "views" factor of the factorial in docs/results.md.
_base_ = ['./saip_vit-tiny-p16_1xb8-300it_demo-persons.py']

optim_wrapper = _base_.ls_recipe_optim_wrapper
custom_hooks = _base_.ls_recipe_hooks
model = _base_.anchor_teacher_pairing
model.csm.neck = dict(freeze_last_layer=_base_.ls_recipe_freeze)
train_dataloader = dict(dataset=dict(pipeline=_base_.anchor_teacher_pipeline))
