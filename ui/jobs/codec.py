"""Messages between the server and its workers: pickled, with every torch tensor carried as a numpy array.

Tensors travel by value (no shared-memory handles, which tie the receiver to the sender's lifetime, and no
`torch.load` of serialised storages). Only the server and the worker processes it started exchange these messages.
"""
from __future__ import annotations

import io
import pickle
from typing import Any

import numpy as np
import torch


def _tensor(array: np.ndarray, dtype: str) -> torch.Tensor:
    tensor = torch.from_numpy(array)
    return tensor.to(getattr(torch, dtype)) if dtype != str(tensor.dtype).removeprefix("torch.") else tensor


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, torch.Tensor):
            cpu = obj.detach().cpu()
            dtype = str(cpu.dtype).removeprefix("torch.")
            array = (cpu.float() if cpu.dtype == torch.bfloat16 else cpu).contiguous().numpy()
            return _tensor, (array, dtype)
        return NotImplemented


def dumps(message: Any) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(message)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    return pickle.loads(data)
