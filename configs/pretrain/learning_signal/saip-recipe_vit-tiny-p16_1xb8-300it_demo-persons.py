# SAIP at the learning-signal budget under DINO's small-batch rules (issue 26), the base of the factorial
# in docs/results.md: the paper preset's CSM pairs (expert on g1 and g2), τt fixed at 0.04 (no warm-up),
# each parameter tensor's gradient clipped at 3 (DINO's clip_gradients), the prototypes frozen for one
# epoch of the data (54 iterations of 431 crops at batch 8), a linear warm-up over the first 10 % of the
# run. The factors (tools/analysis/learning_factorial.py): the pairs (this config or its anchor-teacher
# twin), τt, the lr (5e-4, or DINO's linear rule 5e-4 x 8 / 256) and the teacher momentum.
#   python tools/train.py configs/pretrain/learning_signal/saip-recipe_vit-tiny-p16_1xb8-300it_demo-persons.py
_base_ = ['./saip_vit-tiny-p16_1xb8-300it_demo-persons.py']

optim_wrapper = _base_.ls_recipe_optim_wrapper
custom_hooks = _base_.ls_recipe_hooks
model = dict(csm=dict(neck=dict(freeze_last_layer=_base_.ls_recipe_freeze)))
