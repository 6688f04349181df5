"""The MNIST "LeNet5" of advertorch's examples: conv32(3×3, pad 1)-pool-conv64(3×3, pad 1)-pool-fc200-fc10 on
1×28×28 inputs in [0, 1]. Layer names match the published checkpoints."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class LeNet5(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.linear1 = nn.Linear(7 * 7 * 64, 200)
        self.linear2 = nn.Linear(200, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        out = F.max_pool2d(F.relu(self.conv1(x)), 2)
        out = F.max_pool2d(F.relu(self.conv2(out)), 2)
        return self.linear2(F.relu(self.linear1(out.flatten(1))))
