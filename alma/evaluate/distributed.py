"""Sharding over torchrun's processes: each rank takes every WORLD_SIZE-th chunk; NCCL between GPUs, gloo on CPUs.

Launched by torchrun, the environment holds RANK, WORLD_SIZE and LOCAL_RANK; without them the run is one process.
No `nn.DataParallel`: each rank works on its own chunks on its own device and writes its own files.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def mine(self, items: list) -> list:
        """This rank's share: every world_size-th item, starting at its rank."""
        return items[self.rank::self.world_size]


def start(device: str | None) -> tuple[Ranks, torch.device]:
    """Joins the process group when torchrun launched this process; returns the ranks and this rank's device
    (`device`, with the local rank as CUDA index when it names no index; None: the local GPU if any, else the CPU)."""
    ranks = Ranks(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                  int(os.environ.get("LOCAL_RANK", 0)))
    wanted = device or ("cuda" if torch.cuda.is_available() else "cpu")
    chosen = torch.device(wanted)
    if chosen.type == "cuda" and chosen.index is None:
        chosen = torch.device("cuda", ranks.local_rank % max(torch.cuda.device_count(), 1))
    if chosen.type == "cuda":
        torch.cuda.set_device(chosen)
    if ranks.world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo", device_id=chosen
                                if chosen.type == "cuda" else None)
    return ranks, chosen


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
