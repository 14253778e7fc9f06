# The learning-signal SAIP run with the anchor-teacher pairing (the paper preset's CSM pairs before
# 2026-12-03: expert on the anchor alone, 2 pairs): the configuration of the SAIP rows of docs/results.md
# measured before that date.
_base_ = './saip_vit-tiny-p16_1xb8-300it_demo-persons.py'

model = _base_.anchor_teacher_pairing
train_dataloader = dict(dataset=dict(pipeline=_base_.anchor_teacher_pipeline))
