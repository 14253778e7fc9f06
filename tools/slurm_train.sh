#!/usr/bin/env bash
# Usage: [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#        tools/slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [train.py args...]
set -euo pipefail
WORK_DIR=${4:-work_dirs/$2}
exec "$(dirname "${BASH_SOURCE[0]}")/slurm_launch.sh" train.py "$1" "$2" "$3" --work-dir="$WORK_DIR" "${@:5}"
