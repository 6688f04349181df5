"""ResNet-2B / ResNet-4B of the VNN-COMP 2021 CIFAR-10 benchmark (Wang et al., Beta-CROWN): no BatchNorm, biases
everywhere, ReLU. conv1 (3→w, stride 2), then stages of two blocks with 2w channels (block 0: stride 2 and a 1×1
projection shortcut), flatten in NCHW order, linear1 → 100, ReLU, linear2 → 10. Names match the published files.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class Block(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride))

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.conv2(F.relu(self.conv1(x))) + self.shortcut(x))


class VnnCompResNet(nn.Module):
    """`stages=1, width=8` is ResNet-2B; `stages=2, width=16` is ResNet-4B."""

    def __init__(self, stages: int, width: int, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, stride=2, padding=1)
        planes, size = 2 * width, 16
        for s in range(stages):
            in_planes = width if s == 0 else planes
            setattr(self, f"layer{s + 1}", nn.Sequential(Block(in_planes, planes, 2), Block(planes, planes, 1)))
            size //= 2
        self.stages = stages
        self.linear1 = nn.Linear(planes * size * size, 100)
        self.linear2 = nn.Linear(100, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.conv1(x))
        for s in range(self.stages):
            out = getattr(self, f"layer{s + 1}")(out)
        return self.linear2(F.relu(self.linear1(out.flatten(1))))


def resnet2b() -> VnnCompResNet:
    return VnnCompResNet(stages=1, width=8)


def resnet4b() -> VnnCompResNet:
    return VnnCompResNet(stages=2, width=16)
