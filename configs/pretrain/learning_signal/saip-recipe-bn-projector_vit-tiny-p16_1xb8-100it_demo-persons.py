# SAIP under the demo's small-batch recipe with a BatchNorm after each hidden Linear of the CSM projector
# (DINO's use_bn, issue 26 §3): batch statistics make the features of different images differ. Measured
# with tools/analysis/lr_probe.py (docs/results.md, "The merging reproduced on the CPU").
_base_ = '../saip-recipe_vit-tiny-p16_1xb8-100it_demo-persons.py'

model = dict(csm=dict(neck=dict(norm_cfg=dict(type='BN1d'))))
custom_hooks = _base_.recipe_hooks
