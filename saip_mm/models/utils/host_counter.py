# Copyright (c) saip_mm contributors. Licensed under the Apache License 2.0.
"""A step counter that lives on the host and is saved in checkpoints (issue 28: no host stalls).

A counter kept in a tensor buffer moves to the GPU with the model, and every ``int(counter)`` that
picks a random stream or a schedule value then makes the host wait for the device. This counter is a
Python ``int``: reading it costs nothing, and it is saved as the module's extra state
(``<name>._extra_state`` in the state dict, a 0-d int64 tensor on the CPU: mmengine broadcasts every
state-dict entry at the start of a distributed run and accepts only tensors), so a resumed run continues
from it. Made with
:func:`add_host_counter`, a checkpoint written before this counter (a ``<name>`` tensor buffer) loads too.
"""
import torch
import torch.nn as nn


class HostCounter(nn.Module):
    """A non-negative step count on the host: ``value``, ``advance()``, ``int(counter)``."""

    def __init__(self) -> None:
        super().__init__()
        self.value = 0

    def advance(self) -> None:
        self.value += 1

    def reset(self) -> None:
        self.value = 0

    def __int__(self) -> int:
        return self.value

    def get_extra_state(self) -> torch.Tensor:
        return torch.tensor(self.value, dtype=torch.int64)

    def set_extra_state(self, state) -> None:
        self.value = int(state)

    def extra_repr(self) -> str:
        return f'value={self.value}'


def add_host_counter(owner: nn.Module, name: str) -> HostCounter:
    """Give ``owner`` a :class:`HostCounter` called ``name`` that also loads the tensor buffer of that name
    from checkpoints written before it (a pre-hook of ``owner``'s state-dict loading renames the key)."""
    counter = HostCounter()
    setattr(owner, name, counter)

    def legacy_buffer(state_dict, prefix, *args) -> None:
        old, new = prefix + name, prefix + name + '._extra_state'
        if old in state_dict and new not in state_dict:
            state_dict[new] = int(state_dict.pop(old))

    owner._register_load_state_dict_pre_hook(legacy_buffer)
    return counter
