#!/usr/bin/env bash
# Usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args...]
# torchrun over GPUS processes per node; NNODES, NODE_RANK, MASTER_ADDR, PORT are honoured.
# On a machine without CUDA GPUs it runs GPUS CPU processes with the gloo backend.
exec "$(dirname "${BASH_SOURCE[0]}")/dist_launch.sh" test.py "$3" "$1" "$2" "${@:4}"
