# saip_mm: one place for the commands the README gives.
VENV ?= $(if $(SAIP_VENV),$(SAIP_VENV),.venv)
PY := $(VENV)/bin/python
DEMO_DIR ?= work_dirs/demo

.PHONY: install demo downstream-demo lint test test-fast benchmark learning-signal learning-recipe

install:
	bash tools/install.sh

DEMO_CFG := configs/pretrain/saip_vit-tiny-p16_1xb8-100it_demo-persons.py

# CPU demo: SAIP under DINO's small-batch rules with DINOv2's anti-collapse units (Sinkhorn-Knopp centring
# with a queue, KoLeo) on the embedded person set (retrieval on the video identity set and the
# cross-scale person score at iterations 0, 50, 100), export of the backbone,
# diagnostic PNGs, and the retrieval table: pretrained student vs the random initialisation it started from.
DEMO_RECIPE := configs/pretrain/saip-recipe-sk-koleo_vit-tiny-p16_1xb8-100it_demo-persons.py
demo: install
	$(PY) tools/train.py $(DEMO_RECIPE) --work-dir $(DEMO_DIR)
	$(PY) tools/model_converters/saip2backbone.py $(DEMO_DIR)/iter_100.pth $(DEMO_DIR)/saip_vit-tiny_backbone.pth
	$(PY) tools/analysis/visualize_pretrain.py $(DEMO_DIR)/iter_100.pth --config $(DEMO_RECIPE) --out $(DEMO_DIR)/vis
	$(PY) tools/analysis/eval_backbone.py none $(DEMO_DIR)/iter_100.pth --config $(DEMO_RECIPE) \
		--json $(DEMO_DIR)/retrieval.json

# every downstream config: a few CPU iterations + its real metric, from the demo's exported backbone
downstream-demo: install
	$(PY) tools/misc/downstream_demo.py $(DEMO_DIR)/saip_vit-tiny_backbone.pth

# ruff, configured in pyproject.toml (pyflakes, pycodestyle, import order); CI runs it before the tests
lint: install
	$(VENV)/bin/ruff check saip_mm tools tests configs projects setup.py

test: install
	$(PY) -m pytest tests

# the inner loop: everything but the tests marked `slow` (Runner training, subprocesses)
test-fast: install
	$(PY) -m pytest tests -m "not slow" -q

benchmark: install
	$(PY) tools/analysis/benchmark_pretrain.py

# docs/results.md: SAIP, each objective alone, the baselines and the ablations at 300 CPU iterations on
# demo/persons, then one retrieval table on demo/vtest_reid beside the random init and a colour histogram
# (ViT-Tiny students without SOLIDER's controller), and one table per run that needs its own config (the
# SOLIDER and StarNet runs). Every config of configs/pretrain/learning_signal/ is in a list here or in
# learning-recipe, except the DINO official-code reference (dino-reference_*: docs/results.md, run beside
# the official code) and the GPU run (saip_*_1xb256-amp-600it_*: tools/analysis/learning_check.py);
# tests/test_configs/test_make_targets.py keeps it so.
LS_DIR ?= work_dirs/learning_signal
LS_CFGS := saip_vit-tiny-p16_1xb8-300it_demo-persons saip-csm-only_vit-tiny-p16_1xb8-300it_demo-persons \
	saip-csr-only_vit-tiny-p16_1xb8-300it_demo-persons saip-css-only_vit-tiny-p16_1xb8-300it_demo-persons \
	saip-anchor-views_vit-tiny-p16_1xb8-300it_demo-persons saip-lr5e-5_vit-tiny-p16_1xb8-300it_demo-persons \
	dino_vit-tiny-p16_1xb8-300it_demo-persons mae_vit-tiny-p16_1xb8-300it_demo-persons \
	mae-dino_vit-tiny-p16_1xb8-300it_demo-persons personvit_vit-tiny-p16_1xb8-300it_demo-persons \
	hap_vit-tiny-p16_1xb8-300it_demo-persons saip-anchor-teacher_vit-tiny-p16_1xb8-300it_demo-persons \
	saip-sk-koleo_vit-tiny-p16_1xb8-300it_demo-persons saip-recipe_vit-tiny-p16_1xb8-300it_demo-persons \
	saip-recipe-anchor-teacher_vit-tiny-p16_1xb8-300it_demo-persons \
	saip-scale-views_vit-tiny-p16_1xb8-300it_demo-persons
LS_OWN_CFGS := solider_vit-tiny-p16_1xb8-300it_demo-persons dino_starnet-s3_1xb8-300it_demo-persons \
	solider_starnet-s3_1xb8-300it_demo-persons
learning-signal: install
	for c in $(LS_CFGS) $(LS_OWN_CFGS); do \
		$(PY) tools/train.py configs/pretrain/learning_signal/$$c.py --work-dir $(LS_DIR)/$$c || exit 1; done
	$(PY) tools/analysis/eval_backbone.py colour-histogram none $(foreach c,$(LS_CFGS),$(LS_DIR)/$(c)/iter_300.pth) \
		--config $(DEMO_CFG) --invariance --json $(LS_DIR)/retrieval.json
	for c in $(LS_OWN_CFGS); do $(PY) tools/analysis/eval_backbone.py configs/pretrain/learning_signal/$$c.py \
		$(LS_DIR)/$$c/iter_300.pth --invariance --json $(LS_DIR)/$$c/retrieval.json || exit 1; done

# docs/results.md (issue 26): under the demo's small-batch recipe and budget, SAIP without the demo's
# anti-collapse units (`make demo` until 2026-12-04), each objective alone, DINO and MAE, SAIP without
# colour jitter / grayscale (a diagnosis of the video set), with a BatchNorm projector, at half the input
# size with batch 32, and with each of the demo's two units alone; CSM alone and DINO with both units
# (CSR, CSS and MAE have no CSM head for them); then one retrieval table with the cross-scale persons
RECIPE_DIR ?= work_dirs/recipe
RECIPE_CFGS := $(addsuffix _vit-tiny-p16_1xb8-100it_demo-persons,saip-recipe-csm-only saip-recipe-csr-only \
	saip-recipe-css-only dino-recipe mae-recipe saip-recipe-no-colour saip-recipe-bn-projector \
	saip-recipe-sk-koleo-csm-only dino-recipe-sk-koleo saip-recipe-koleo saip-recipe-sk) saip-recipe-half-res_vit-tiny-p16_1xb32-100it_demo-persons
PLAIN_RECIPE := configs/pretrain/saip-recipe_vit-tiny-p16_1xb8-100it_demo-persons.py
learning-recipe: install
	$(PY) tools/train.py $(PLAIN_RECIPE) --work-dir $(RECIPE_DIR)/saip-recipe
	for c in $(RECIPE_CFGS); do $(PY) tools/train.py \
		configs/pretrain/learning_signal/$$c.py --work-dir $(RECIPE_DIR)/$$c || exit 1; done
	$(PY) tools/analysis/eval_backbone.py none $(RECIPE_DIR)/saip-recipe/iter_100.pth \
		$(foreach c,$(RECIPE_CFGS),$(RECIPE_DIR)/$(c)/iter_100.pth) \
		--config $(DEMO_RECIPE) --json $(RECIPE_DIR)/retrieval.json
