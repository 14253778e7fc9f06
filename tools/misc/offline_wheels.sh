#!/usr/bin/env bash
# Wheels for a machine that reaches no package registry (a lent GPU node that has its own Python and
# CUDA torch): the OpenMMLab stack that saip_mm needs and such a machine lacks, at the versions of
# requirements/constraints.txt, for that machine's Python, with mmcv built here (its CPU ops) against
# that machine's torch version.
#
#   bash tools/misc/offline_wheels.sh OUT [PYTHON_VERSION] [TORCH_VERSION]   # defaults: 3.12 2.11.0
#   bash tools/misc/offline_wheels.sh --list                                  # the pinned names only
#
# Building mmcv takes about 10-30 minutes on 2 cores and needs that Python here (python<PYTHON_VERSION>,
# or SAIP_PYTHON=/path/to/python; pyenv has 3.12); the torch it is built against is installed into a
# throw-away venv (a few GB from PyPI). On the other machine, from a copy of the repository with OUT in
# it (for this workplace's device tool: OUT=.whl, added to .git/info/exclude and named in the call's
# carry; 44 MB for Python 3.12):
#
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site OUT/*.whl && export PYTHONPATH=/tmp/site
#   PYTHONPATH=/tmp/site:. python3 tools/analysis/gpu_check.py --out DIR   # or learning_check.py / lr_probe.py
#
# The list is what the nvidia-h200 image lacked on 2026-11-17 (numpy, OpenCV, matplotlib, scipy, rich,
# einops, click, markdown, ... are there); xtcocotools (mmpose's COCO evaluation) has no wheel for every
# Python and is left out: the pretraining tools do not import it. If the machine's transformers is 5.x,
# saip_mm refuses to start and names the fix (mmpretrain 1.2 imports it): uninstall it there first.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CONSTRAINTS=${SAIP_CONSTRAINTS:-$ROOT/requirements/constraints.txt}  # the pins (another file: a test)
PACKAGES=(mmengine mmpretrain mmpose mmdet mmsegmentation addict yapf termcolor platformdirs json_tricks
          munkres pycocotools terminaltables mat4py model-index ordered-set prettytable ftfy wcwidth
          importlib-metadata lazy-importer shapely)

# NAME==VERSION as constraints.txt pins it (names compared as pip does: case, '-', '_' and '.' alike)
pinned() {
  local want line
  want=$(echo "$1" | tr 'A-Z_.' 'a-z--')
  while IFS= read -r line; do
    [[ "$line" == *==* ]] || continue
    if [ "$(echo "${line%%==*}" | tr 'A-Z_.' 'a-z--')" = "$want" ]; then
      echo "$line"
      return
    fi
  done < "$CONSTRAINTS"
  echo "offline_wheels.sh: $1 has no '==' pin in $CONSTRAINTS" >&2
  return 1
}

if [ "${1:-}" = "--list" ]; then
  for p in "${PACKAGES[@]}"; do pinned "$p"; done
  exit 0
fi
OUT=${1:?usage: offline_wheels.sh OUT [PYTHON_VERSION] [TORCH_VERSION] | --list}
PYV=${2:-3.12}
TORCH=${3:-2.11.0}
PY=${SAIP_PYTHON:-python$PYV}
if [ "$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" != "$PYV" ]; then
  echo "offline_wheels.sh: no Python $PYV as '$PY' to build mmcv with; set SAIP_PYTHON (with pyenv:" \
       "SAIP_PYTHON=\$(pyenv root)/versions/$PYV.N/bin/python$PYV)" >&2
  exit 1
fi
mkdir -p "$OUT"
specs=()
for p in "${PACKAGES[@]}"; do specs+=("$(pinned "$p")"); done

echo "==> [offline_wheels] ${#specs[@]} wheels for CPython $PYV (no dependencies: the list is complete)"
python3 -m pip download -q --isolated --no-deps --only-binary=:all: --python-version "$PYV" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux1_x86_64 -d "$OUT" "${specs[@]}"

# the version tools/install.sh builds (constraints.txt names mmcv by its local wheel's path)
mmcv="mmcv==$(sed -n 's/^MMCV_VERSION=//p' "$ROOT/tools/install.sh")"
echo "==> [offline_wheels] $mmcv built against torch $TORCH with CPython $PYV"
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
"$PY" -m venv "$build/venv"
"$build/venv/bin/python" -m pip install -q --isolated "torch==$TORCH" numpy addict packaging pyyaml yapf \
  opencv-python-headless "setuptools>=77,<81" wheel ninja
MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} "$build/venv/bin/python" -m pip wheel -q --isolated \
  --no-build-isolation --no-deps -w "$OUT" "$mmcv"
ls -l "$OUT"
echo "==> [offline_wheels] done: $(du -sh "$OUT" | cut -f1) in $OUT"
