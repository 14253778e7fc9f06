#!/usr/bin/env bash
# Shared torchrun launcher of dist_train.sh / dist_test.sh.
# Usage: tools/dist_launch.sh SCRIPT NPROC [script args...]
# Honours NNODES, NODE_RANK, MASTER_ADDR, PORT (or MASTER_PORT). Without CUDA GPUs the processes run
# on the CPU with the gloo backend (tools/train.py and tools/test.py pick it).
set -euo pipefail
SCRIPT=$1
NPROC=$2
DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=${PYTHON:-python}
export PYTHONPATH="$DIR/..${PYTHONPATH:+:$PYTHONPATH}"
# one process checks the config and its data first: a missing file is one line, not NPROC tracebacks
"$PY" "$DIR/$SCRIPT" "${@:3}" --preflight >/dev/null || exit $?
exec "$PY" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-${MASTER_PORT:-29500}}" \
    --nproc_per_node="$NPROC" "$DIR/$SCRIPT" "${@:3}" --launcher pytorch
