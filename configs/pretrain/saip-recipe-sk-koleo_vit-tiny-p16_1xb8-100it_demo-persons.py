# `make demo`: SAIP on the embedded person crops under DINO's small-batch recipe
# (./saip-recipe_vit-tiny-p16_1xb8-100it_demo-persons.py) with DINOv2's anti-collapse units (issue 26 §3),
# 100 iterations of batch 8 on the CPU:
#   python tools/train.py configs/pretrain/saip-recipe-sk-koleo_vit-tiny-p16_1xb8-100it_demo-persons.py
# * Sinkhorn-Knopp centring (SwAV, DINOv2) in place of DINO's EMA centre: the targets of the batch and of
#   a queue of the last 512 teacher outputs (SwAV's answer to small batches; at most one epoch of them,
#   which the run checks before its first iteration) use every prototype equally;
# * KoLeo (DINOv2, weight 0.1) on the student's global tokens: the features of different images spread.
# docs/results.md: from three initialisations it rose above each start on both held-out sets, which the
# recipe without the units did not (the rule stated before those runs).
_base_ = './saip-recipe_vit-tiny-p16_1xb8-100it_demo-persons.py'

model = dict(csm=_base_.demo_anti_collapse)
