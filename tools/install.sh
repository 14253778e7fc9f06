#!/usr/bin/env bash
# One scripted install of saip_mm and the OpenMMLab 2.x stack it plugs into.
#
#   bash tools/install.sh            # creates .venv/ (or $SAIP_VENV) and installs everything
#
# Idempotent: a second run finds every step satisfied and only verifies the imports.
# Environment:
#   SAIP_VENV   virtual environment to create/use (default: <repo>/.venv)
#   SAIP_CACHE  cache for the locally built mmcv wheel (default: ~/.cache/saip_mm)
#   SAIP_PYTHON base interpreter for the venv (default: python3)
#   SAIP_FORCE  1 = ignore the "up to date" stamp and run every step
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${SAIP_VENV:-$ROOT/.venv}
CACHE=${SAIP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/saip_mm}
BASE_PY=${SAIP_PYTHON:-python3}
REQ=$ROOT/requirements
MMCV_VERSION=2.1.0
MMPOSE_VERSION=1.3.2
STEP="start"
T0=$(date +%s)

step() { STEP="$1"; echo "==> [install] $1"; }
fail() {
  echo "install.sh: FAILED at step '$STEP' (exit $1). The output above shows the failing command." >&2
}
trap 'fail $?' ERR

# pip without the machine's user config: that config prefers a local "+cpu" torch wheel for which no
# torchvision build works. --isolated gives the public registry's builds.
pipi() { "$VENV/bin/python" -m pip --isolated --disable-pip-version-check "$@"; }

# ---------------------------------------------------------------------------------------------
step "virtual environment at $VENV"
system_cuda_torch=0
if "$BASE_PY" -c "import torch, torchvision, sys; sys.exit(0 if torch.version.cuda else 1)" 2>/dev/null; then
  system_cuda_torch=1
fi
if [ ! -x "$VENV/bin/python" ]; then
  if [ "$system_cuda_torch" = 1 ]; then
    echo "    base Python already has a CUDA torch + torchvision: keeping it (--system-site-packages)"
    "$BASE_PY" -m venv --system-site-packages "$VENV"
  else
    "$BASE_PY" -m venv "$VENV"
  fi
fi
PY=$VENV/bin/python

stamp_src=$(cat "$ROOT/tools/install.sh" "$REQ"/*.txt "$ROOT/setup.py" | sha256sum | cut -c1-16)
STAMP=$VENV/.saip_install_stamp
verify() {
  "$PY" - <<'EOF'
import saip_mm, mmengine, mmpretrain, mmpose, mmdet, mmseg, torch, torchvision
from mmcv.ops import nms, RoIAlign
import mmpretrain.models, mmpose.models, mmdet.models, mmseg.models
import ruff  # make lint
import onnx, onnxruntime, onnxsim, openvino  # tools/deployment
print(f"    torch {torch.__version__} (cuda {torch.version.cuda}), torchvision {torchvision.__version__}, "
      f"mmengine {mmengine.__version__}, mmpretrain {mmpretrain.__version__}, mmpose {mmpose.__version__}, "
      f"mmdet {mmdet.__version__}, mmseg {mmseg.__version__}, saip_mm {saip_mm.__version__}")
EOF
}
if [ "${SAIP_FORCE:-0}" != 1 ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$stamp_src" ]; then
  step "verify (install is up to date)"
  if verify; then
    echo "==> [install] up to date in $(( $(date +%s) - T0 )) s"
    exit 0
  fi
  echo "    verification failed: re-running every step"
fi

step "build tools (pip, setuptools>=77,<81 for torch and mmcv, wheel, ninja)"
pipi install -q --upgrade -c "$REQ/constraints.txt" pip setuptools wheel ninja psutil

# ---------------------------------------------------------------------------------------------
step "torch + torchvision"
if "$PY" -c "import torch, torchvision, sys; torchvision.ops.nms; sys.exit(0 if torch.version.cuda else 1)" 2>/dev/null; then
  echo "    keeping the installed CUDA torch: $("$PY" -c 'import torch; print(torch.__version__)')"
else
  pipi install -q -r "$REQ/torch.txt"
fi
"$PY" -c "import torch, torchvision; from torchvision.ops import nms; print('    torch', torch.__version__, 'torchvision', torchvision.__version__)"

# ---------------------------------------------------------------------------------------------
step "mmcv $MMCV_VERSION with compiled ops"
torch_tag=$("$PY" -c "import torch; print(torch.__version__.replace('+', '_'))")
py_tag=$("$PY" -c "import sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}')")
WHEELS=$CACHE/wheels/$py_tag-torch$torch_tag
mkdir -p "$WHEELS"
if "$PY" -c "import mmcv, sys; from mmcv.ops import nms, RoIAlign; sys.exit(mmcv.__version__ != '$MMCV_VERSION')" 2>/dev/null; then
  echo "    already installed"
else
  wheel=$(ls "$WHEELS"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n 1 || true)
  if [ -z "$wheel" ]; then
    echo "    no cached wheel in $WHEELS: building from source (about 15 minutes on 2 cores)"
    pipi install -q -c "$REQ/constraints.txt" addict packaging pyyaml yapf numpy opencv-python
    build=$(mktemp -d)
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
      pipi wheel --no-build-isolation --no-deps -w "$build" "mmcv==$MMCV_VERSION"
    mv "$build"/mmcv-*.whl "$WHEELS"/
    rm -rf "$build"
    wheel=$(ls "$WHEELS"/mmcv-"$MMCV_VERSION"-*.whl | head -n 1)
  else
    echo "    using cached wheel $wheel"
  fi
  pipi install -q --no-deps --force-reinstall "$wheel"
fi

# ---------------------------------------------------------------------------------------------
step "OpenMMLab packages and runtime deps (pinned in requirements/constraints.txt)"
pipi install -q -c "$REQ/constraints.txt" -r "$REQ/runtime.txt" -r "$REQ/tests.txt"
step "mmpose $MMPOSE_VERSION and openmim (without deps: chumpy does not build, openxlab pins setuptools 60)"
pipi install -q --no-deps -c "$REQ/constraints.txt" "mmpose==$MMPOSE_VERSION" openmim

# ---------------------------------------------------------------------------------------------
step "saip_mm (editable)"
pipi install -q --no-deps --no-build-isolation -e "$ROOT"

# mim (openmim 0.3.9) looks for <dist location>/saip_mm/.mim; for a PEP 660 editable install the
# dist-info lives in site-packages but the package does not, so link it there (regular installs
# already have it). Imports resolve to the same files either way.
step "mim link for the editable install"
site=$("$PY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
if [ ! -e "$site/saip_mm" ] || [ -L "$site/saip_mm" ]; then
  ln -sfn "$ROOT/saip_mm" "$site/saip_mm"
fi
test -f "$site/saip_mm/.mim/tools/train.py"

step "verify"
verify
echo "$stamp_src" > "$STAMP"
echo "==> [install] done in $(( $(date +%s) - T0 )) s. Activate with: source ${VENV}/bin/activate"
