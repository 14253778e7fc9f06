# CSS alone under the demo's small-batch recipe and budget (docs/results.md, "SAIP beside DINO, MAE
# and each objective under the recipe").
_base_ = '../saip-recipe_vit-tiny-p16_1xb8-100it_demo-persons.py'

model = dict(csm=None, csr=None)
custom_hooks = _base_.recipe_hooks
