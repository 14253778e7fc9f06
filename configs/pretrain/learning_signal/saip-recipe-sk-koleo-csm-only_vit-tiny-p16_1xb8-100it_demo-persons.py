# CSM alone under `make demo`'s config (the recipe with Sinkhorn-Knopp centring and KoLeo; docs/results.md,
# "SAIP beside DINO, MAE and each objective"). CSR and CSS alone and MAE have no CSM head, so the units do
# not change them: their recipe runs stand (learning_signal/saip-recipe-csr-only_…, -css-only_…, mae-recipe_…).
_base_ = '../saip-recipe_vit-tiny-p16_1xb8-100it_demo-persons.py'

model = dict(csr=None, css=None, csm=_base_.demo_anti_collapse)
custom_hooks = _base_.recipe_hooks
