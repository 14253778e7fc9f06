#!/usr/bin/env bash
# The GPU checks of issues 26 and 28 in one call on a lent machine that reaches no package registry
# (this workplace's device tool: `run` with carry [".whl"], from the repository root; $OUT is the folder
# whose files come back). First build the kit here: `bash tools/misc/offline_wheels.sh .whl` (with
# `/.whl/` in .git/info/exclude). Then, within SECONDS (default 540: a call's 600 s less a margin):
#
#   1. install the kit into /tmp/site (transformers >= 5, which mmpretrain 1.2 cannot import, removed);
#   2. $OUT/device.txt: the GPU, cores, memory and versions;
#   3. gpu_check.py --tables loader (paper and official-code presets, batch 256, AMP, the config's
#      collation), at most a third of the time;
#   4. gpu_check.py --tables profile (where each preset's step spends its time: the phases, the kernels
#      launched, the device's busy fraction), at most two minutes;
#   5. gpu_check.py --tables compile (the paper preset on a pre-built batch without and with
#      model.compile_encoders=True, one run), at most half of what is left and 150 s;
#   6. learning_check.py (make demo's recipe at the largest batch that fits, the config's lr) in what
#      is left, less a minute, when that is at least a minute;
#   7. everything small (tables, JSON, training logs) packed into $OUT/session.tgz: the device tool
#      returns a handful of files a call, not a run's folder.
#
#   bash tools/misc/device_session.sh [SECONDS]
set -uo pipefail

BUDGET=${1:-540}
fail() { echo "device_session.sh: $*" >&2; exit 1; }
[[ "$BUDGET" =~ ^[0-9]+$ ]] && (( BUDGET >= 240 )) || fail "SECONDS must be a whole number >= 240, got '$BUDGET'"
[ -n "${OUT:-}" ] && [ -d "$OUT" ] || fail "OUT must name an existing folder (the device tool sets it), got '${OUT:-}'"
compgen -G '.whl/*.whl' > /dev/null || fail "no wheels in .whl/: build them first (bash tools/misc/offline_wheels.sh .whl) and carry .whl"
T0=$(date +%s)
left() { echo $(( BUDGET - ($(date +%s) - T0) )); }

python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl 2>&1 | tail -2
export PYTHONPATH=/tmp/site:.
if python3 -c "import sys, transformers; sys.exit(int(transformers.__version__.split('.')[0]) < 5)" 2>/dev/null; then
  python3 -m pip uninstall -y -q transformers sentence-transformers peft 2>&1 | tail -1
fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; nproc; free -g
  python3 -c "import sys, torch, numpy, mmcv, mmengine; print(sys.version.split()[0], 'torch', torch.__version__,
'numpy', numpy.__version__, 'mmcv', mmcv.__version__, 'mmengine', mmengine.__version__, torch.cuda.get_device_name())"
} > "$OUT/device.txt" 2>&1
cat "$OUT/device.txt"

RUN=/tmp/device_session
mkdir -p $RUN
echo "== gpu_check loader ($(left) s left)"
timeout $(( $(left) / 3 )) python3 tools/analysis/gpu_check.py --out $RUN/gpu_check --tables loader --steps 3 \
  --data-samples 16 --shape-batches 20 > $RUN/gpu_check.txt 2>&1
echo "rc $?"; grep -v -i warning $RUN/gpu_check.txt | grep '^|' | tail -4

echo "== gpu_check profile ($(left) s left)"
timeout $(( $(left) / 4 < 120 ? $(left) / 4 : 120 )) python3 tools/analysis/gpu_check.py --out $RUN/gpu_check \
  --tables profile --steps 3 > $RUN/gpu_profile.txt 2>&1
echo "rc $?"; grep -v -i warning $RUN/gpu_profile.txt | grep '^|' | head -4

echo "== gpu_check compile ($(left) s left)"
timeout $(( $(left) / 2 < 150 ? $(left) / 2 : 150 )) python3 tools/analysis/gpu_check.py --out $RUN/gpu_check \
  --tables compile --steps 3 --data-samples 16 --shape-batches 20 > $RUN/gpu_compile.txt 2>&1
echo "rc $?"; grep -v -i warning $RUN/gpu_compile.txt | grep '^|' | tail -2
if (( $(left) >= 120 )); then
  MINUTES=$(python3 -c "print(round(($(left) - 60) / 60, 1))")
  echo "== learning_check, $MINUTES minutes ($(left) s left)"
  timeout $(( $(left) - 20 )) python3 tools/analysis/learning_check.py --out $RUN/learning_check \
    --minutes "$MINUTES" > $RUN/learning_check.txt 2>&1
  echo "rc $?"; tail -4 $RUN/learning_check.txt
else
  echo "== learning_check skipped: $(left) s left" | tee $RUN/learning_check.txt
fi

(cd $RUN && tar czf "$OUT/session.tgz" --exclude='*.pth' gpu_check gpu_check.txt gpu_profile.txt gpu_compile.txt \
  learning_check.txt $(ls -d learning_check 2>/dev/null))
ls -la "$OUT"
