# saip_mm: one place for the commands the README gives.
VENV ?= $(if $(SAIP_VENV),$(SAIP_VENV),.venv)
PY := $(VENV)/bin/python
DEMO_DIR ?= work_dirs/demo

.PHONY: install demo downstream-demo test benchmark

install:
	bash tools/install.sh

# CPU demo pretraining on the embedded person set, then export of the backbone.
demo: install
	$(PY) tools/train.py configs/pretrain/saip_vit-tiny_demo-cpu.py --work-dir $(DEMO_DIR)
	$(PY) tools/model_converters/saip2backbone.py $(DEMO_DIR)/iter_100.pth $(DEMO_DIR)/saip_vit-tiny_backbone.pth

# every downstream config: a few CPU iterations + its real metric, from the demo's exported backbone
downstream-demo: install
	$(PY) tools/misc/downstream_demo.py $(DEMO_DIR)/saip_vit-tiny_backbone.pth

test: install
	$(PY) -m pytest tests

benchmark: install
	$(PY) tools/analysis/benchmark_pretrain.py
