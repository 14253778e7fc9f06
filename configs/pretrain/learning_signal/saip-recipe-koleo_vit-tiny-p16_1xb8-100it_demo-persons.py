# One of `make demo`'s two anti-collapse units alone (docs/results.md, which of them moves the features):
# the recipe with KoLeo (DINOv2, weight 0.1) on the student's global tokens and DINO's EMA centre.
_base_ = '../saip-recipe_vit-tiny-p16_1xb8-100it_demo-persons.py'

model = dict(csm=dict(koleo=_base_.demo_anti_collapse['koleo']))
custom_hooks = _base_.recipe_hooks
