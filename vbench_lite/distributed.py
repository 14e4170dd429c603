"""Process groups for ``torchrun``: which share of the work this rank does, and gathering results to rank 0.

Without ``torchrun`` (no ``WORLD_SIZE`` in the environment) everything runs in one process and these helpers are
no-ops. With it, the process group uses gloo on CPU and NCCL when every rank has a GPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    initialized_here: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    def shard(self, items: list[T]) -> list[T]:
        """This rank's share: every ``world_size``-th item from ``rank`` (deterministic, balanced)."""
        return items[self.rank::self.world_size]

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj``, in rank order, on every rank (pickled through the process group)."""
        if not self.enabled:
            return [obj]
        import torch.distributed as dist

        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def barrier(self) -> None:
        if self.enabled:
            import torch.distributed as dist

            dist.barrier()

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        if not self.enabled:
            return obj
        import torch.distributed as dist

        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def close(self) -> None:
        if self.initialized_here:
            import torch.distributed as dist

            dist.destroy_process_group()
            self.initialized_here = False


def init_from_env() -> DistContext:
    """Join the process group that ``torchrun`` describes in the environment, if any."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    import torch
    import torch.distributed as dist

    rank = int(os.environ.get("RANK", "0"))
    if dist.is_initialized():
        return DistContext(rank=dist.get_rank(), world_size=dist.get_world_size())
    use_nccl = torch.cuda.is_available() and torch.cuda.device_count() > 0
    backend = os.environ.get("VBENCH_LITE_DIST_BACKEND") or ("nccl" if use_nccl else "gloo")
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend=backend)
    return DistContext(rank=rank, world_size=world, initialized_here=True)
