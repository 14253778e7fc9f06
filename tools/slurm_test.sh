#!/usr/bin/env bash
# Usage: [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#        tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args...]
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/slurm_launch.sh" test.py "$1" "$2" "$3" "$4" "${@:5}"
