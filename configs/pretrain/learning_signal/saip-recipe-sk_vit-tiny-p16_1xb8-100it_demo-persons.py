# One of `make demo`'s two anti-collapse units alone (docs/results.md, which of them moves the features):
# the recipe with Sinkhorn-Knopp centring over the batch and a queue of 512 teacher outputs, no KoLeo.
_base_ = '../saip-recipe_vit-tiny-p16_1xb8-100it_demo-persons.py'

model = dict(csm=dict(head=_base_.demo_anti_collapse['head']))
custom_hooks = _base_.recipe_hooks
