"""SmallCNN, the MNIST architecture of the ALMA, DDN and TRADES papers.

conv32-conv32-pool-conv64-conv64-pool-fc200-fc200-fc10 on 1×28×28 inputs in [0, 1], no normalisation. Layer names
follow the published checkpoints (`feature_extractor.*`, `classifier.*`), so they load strictly.
"""
from collections import OrderedDict

from torch import Tensor, nn


class SmallCNN(nn.Module):
    def __init__(self, num_classes: int = 10, drop: float = 0.5) -> None:
        super().__init__()
        self.feature_extractor = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(1, 32, 3)), ("relu1", nn.ReLU(inplace=True)),
            ("conv2", nn.Conv2d(32, 32, 3)), ("relu2", nn.ReLU(inplace=True)),
            ("maxpool1", nn.MaxPool2d(2, 2)),
            ("conv3", nn.Conv2d(32, 64, 3)), ("relu3", nn.ReLU(inplace=True)),
            ("conv4", nn.Conv2d(64, 64, 3)), ("relu4", nn.ReLU(inplace=True)),
            ("maxpool2", nn.MaxPool2d(2, 2)),
        ]))
        self.classifier = nn.Sequential(OrderedDict([
            ("fc1", nn.Linear(64 * 4 * 4, 200)), ("relu1", nn.ReLU(inplace=True)), ("drop", nn.Dropout(drop)),
            ("fc2", nn.Linear(200, 200)), ("relu2", nn.ReLU(inplace=True)),
            ("fc3", nn.Linear(200, num_classes)),
        ]))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.feature_extractor(x).flatten(1))
