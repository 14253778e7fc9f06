# One of `make demo`'s two anti-collapse units alone (docs/results.md, which of them moves the features):
# the recipe with Sinkhorn-Knopp centring over the batch and a queue of 512 teacher outputs, no KoLeo.
_base_ = '../saip-recipe_vit-tiny-p16_1xb8-100it_demo-persons.py'

model = dict(csm=dict(head=dict(centering=dict(type='SinkhornKnoppCentering', queue_length=512))))
custom_hooks = _base_.recipe_hooks
