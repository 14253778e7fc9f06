#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG GPUS [train.py args...]
# torchrun over GPUS processes per node; NNODES, NODE_RANK, MASTER_ADDR, PORT are honoured.
# On a machine without CUDA GPUs it runs GPUS CPU processes with the gloo backend.
exec "$(dirname "${BASH_SOURCE[0]}")/dist_launch.sh" train.py "$2" "$1" "${@:3}"
