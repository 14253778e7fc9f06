# SAIP under the demo's small-batch recipe with DINOv2's anti-collapse units (issue 26 §3): Sinkhorn-Knopp
# centring over the batch and a queue of the last 512 teacher samples (at most one epoch of them) instead of the EMA centre, and
# KoLeo (0.1) on the student's global tokens; the recipe's per-tensor clipping is kept. Measured with
# tools/analysis/lr_probe.py (docs/results.md, "The merging reproduced on the CPU").
_base_ = '../saip-recipe_vit-tiny-p16_1xb8-100it_demo-persons.py'

model = dict(csm=dict(koleo=dict(type='KoLeoLoss', loss_weight=0.1),
                      head=dict(centering=dict(type='SinkhornKnoppCentering', queue_length=512))))
custom_hooks = _base_.recipe_hooks
