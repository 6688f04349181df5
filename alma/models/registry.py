"""Every model the explorer offers: one `Entry` each, in `ENTRIES`. Adding a model is adding one entry.

An entry pairs the user-facing `ModelInfo` with how to build the network: an architecture (built on the meta
device, then filled from a state dict resolved by `alma.weights`, so building is fast), the weight file, and the
normalisation folded into the model. Models from an optional package (RobustBench) have an `external` builder.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from torch import nn
from torchvision import models as tvm

from ..weights import OfflineCopy, Progress, Unwrap, WeightFile
from .cifar_resnet import CifarResNet
from .info import ModelInfo
from .lenet5 import LeNet5
from .robustbench import robustbench_builder
from .smallcnn import SmallCNN
from .vnncomp_resnet import resnet2b, resnet4b

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2471, 0.2435, 0.2616)
MNIST_CLASSES = tuple(str(d) for d in range(10))
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
IMAGENET_CLASSES = tuple(tvm.ResNet50_Weights.IMAGENET1K_V1.meta["categories"])

MNIST_SHAPE, CIFAR10_SHAPE, IMAGENET_SHAPE = (1, 28, 28), (3, 32, 32), (3, 224, 224)


@dataclass(frozen=True)
class Entry:
    info: ModelInfo
    architecture: Callable[[], nn.Module] | None = None
    """The bare network (random weights, no normalisation); None when `external` builds the model."""
    weight: WeightFile | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    external: Callable[[Progress | None], nn.Module] | None = None
    """Builds the complete model (weights and normalisation included) through an optional package."""
    download_bytes: int | None = None
    """About the size of the download of an `external` model (the others' is estimated from the architecture)."""


def _github(repo: str, commit: str, path: str) -> str:
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"


# --- MNIST -------------------------------------------------------------------------------------------------------

def _mnist(name: str, label: str, training: str, source: str, weight: WeightFile,
           architecture: Callable[[], nn.Module] = SmallCNN, notes: str = "") -> Entry:
    info = ModelInfo(name, label, "mnist", MNIST_SHAPE, MNIST_CLASSES, source, training,
                     bundled=weight.bundled, notes=notes)
    return Entry(info, architecture, weight)


_ATTACKBENCH = ("attackbench/AttackBench", "ee2ca2f0a690a1a88c4d507258b00a524d5c4555",
                "attack_evaluation/models/checkpoints")
_ADVERTORCH = ("BorealisAI/advertorch", "e063e341c87d9a621ae1a8f72c3507d5ea5bd327",
               "advertorch_examples/trained_models")

def _published(filename: str, url: str, sha256: str, offline_path: str) -> WeightFile:
    """A published state dict, byte-identical to its offline copy at `offline_path` under `$ALMA_WEIGHTS_DIR`."""
    return WeightFile(filename, url=url, sha256=sha256, offline=(OfflineCopy(offline_path, sha256),))


_PAPER_SOURCE = f"ALMA paper checkpoint, from {_ATTACKBENCH[0]} @ {_ATTACKBENCH[1][:8]} (released by J. Rony)"
_ADVERTORCH_SOURCE = f"advertorch examples, {_ADVERTORCH[0]} @ {_ADVERTORCH[1][:8]} (LGPL-3.0)"

MNIST_ENTRIES = (
    _mnist("mnist-smallcnn", "SmallCNN (ours, regular)", "standard",
           "trained by this project (python -m alma.models.train, see docs/models.md); bundled",
           WeightFile("mnist_smallcnn.pt", bundled=True,
                      sha256="01c1bcd45596ffc0fe22f8460a55627fec64710506e0092ba0b58daea4826a2d")),
    _mnist("mnist-smallcnn-pgd-l2", "SmallCNN (ours, ℓ2 adversarially trained)", "adversarial ℓ2 (PGD, ε = 2)",
           "trained by this project (python -m alma.models.train --adversarial l2, see docs/models.md); bundled",
           WeightFile("mnist_smallcnn_pgd_l2.pt", bundled=True,
                      sha256="4647bd6357d07d352b917fc0d6735d995f58d1784917224088cc2ca5ef0e49f0")),
    _mnist("mnist-smallcnn-paper", "SmallCNN (paper, regular)", "standard", _PAPER_SOURCE,
           _published("attackbench_mnist_smallcnn_standard.pth",
                      _github(*_ATTACKBENCH[:2], f"{_ATTACKBENCH[2]}/mnist_smallcnn_standard.pth"),
                      "6b93e61cf41aca57141557ae0902d3effced9232f519acaa9b62149823cf444d",
                      "mnist_models/smallcnn/mnist_regular.pth")),
    _mnist("mnist-smallcnn-ddn", "SmallCNN (paper, DDN ℓ2 adversarially trained)", "adversarial ℓ2 (DDN)",
           _PAPER_SOURCE,
           _published("attackbench_mnist_smallcnn_robust_ddn.pth",
                      _github(*_ATTACKBENCH[:2], f"{_ATTACKBENCH[2]}/mnist_smallcnn_robust_ddn.pth"),
                      "9569512d635778cccfa07bf1f31b921af43789bc3cc84e109bc822febd933126",
                      "mnist_models/smallcnn/mnist_robust_ddn.pth")),
    _mnist("mnist-smallcnn-trades", "SmallCNN (paper, TRADES ℓ∞)", "adversarial ℓ∞ (TRADES, ε = 0.3)",
           "TRADES release, yaodongyu/TRADES @ f94f4148 (checkpoints/model_mnist_smallcnn.pt)",
           _published("trades_mnist_smallcnn.pt",
                      _github("yaodongyu/TRADES", "f94f41489ffe9e4486558bf01ff34e1fb8d55490",
                              "checkpoints/model_mnist_smallcnn.pt"),
                      "5b99888064f692047d5592b38df2dde126aa1b991a26c6aad683ce709634bea0",
                      "mnist_models/smallcnn/mnist_robust_trades.pt")),
    _mnist("mnist-lenet5", "LeNet5 (advertorch, regular)", "standard", _ADVERTORCH_SOURCE,
           _published("advertorch_mnist_lenet5_clntrained.pt",
                      _github(*_ADVERTORCH[:2], f"{_ADVERTORCH[2]}/mnist_lenet5_clntrained.pt"),
                      "551a11267982991fb0c9f74e9094de19e54b51455eff9bd1c19c77a69d85156a",
                      "mnist_models/advertorch_lenet5/mnist_lenet5_clntrained.pt"),
           architecture=LeNet5),
    _mnist("mnist-lenet5-linf", "LeNet5 (advertorch, ℓ∞ adversarially trained)", "adversarial ℓ∞ (PGD, ε = 0.3)",
           _ADVERTORCH_SOURCE,
           _published("advertorch_mnist_lenet5_advtrained.pt",
                      _github(*_ADVERTORCH[:2], f"{_ADVERTORCH[2]}/mnist_lenet5_advtrained.pt"),
                      "b89abfcfe8b33235fe8f8e964188d82a97c56a12ffe25132eaba197e40ac7658",
                      "mnist_models/advertorch_lenet5/mnist_lenet5_advtrained.pt"),
           architecture=LeNet5),
)

# --- CIFAR-10 ----------------------------------------------------------------------------------------------------

_AKAMASTER = ("akamaster/pytorch_resnet_cifar10", "d5489e8995e81e91ce6b1d69dcc98ad579b0b153")
_AKAMASTER_FILES = {  # depth: (published file, its sha256 prefix, offline converted copy's sha256)
    20: ("resnet20-12fca82f.th", "12fca82f0beb", "622414d9f55b7d5f5fa36e57e4c4d7776006bbbe6b3224053b5c435c0156661c"),
    32: ("resnet32-d509ac18.th", "d509ac1820d7", "9c2a79c66e1765dc72c6d2be8a9649cdeb0d498b59d5f7d15a814e1fea3633e1"),
    44: ("resnet44-014dd654.th", "014dd6541728", "acb8a4606a5ec9516bcf73905c12fa30068c7a30c3835d35d194a9934c1948c6"),
    56: ("resnet56-4bfd9763.th", "4bfd97631478", "c1203596a0059c21f8a8e2ae33d7611ee2f8153fc3e04491a4c92a16c573aeb7"),
}
_VNNCOMP = ("stanleybak/vnncomp2021", "90419aadcf06cf543ce5c1706cae1059dc9fa6cf",
            "benchmarks/cifar10_resnet/pytorch_model")
_VNNCOMP_FILES = {  # name: (architecture, published sha256 prefix, offline copy's sha256)
    "2b": (resnet2b, "ef824b47175668e9", "ce936188345c3c92ac86ae98511a9a9c171db428b78e720a6e43bedd96e1f75b"),
    "4b": (resnet4b, "6158f9668935890e", "29955de51cdad41540e800204dcb988f3c90101f6266c98cb7299cf4e389d3ab"),
}


def _akamaster(depth: int) -> Entry:
    filename, prefix, offline_sha = _AKAMASTER_FILES[depth]
    weight = WeightFile(f"akamaster_{filename}", url=_github(*_AKAMASTER, f"pretrained_models/{filename}"),
                        sha256=prefix, convert=Unwrap("state_dict", "module."),
                        offline=(OfflineCopy(f"models/cifar10_resnet_akamaster/resnet{depth}.pt", offline_sha),))
    info = ModelInfo(f"cifar10-resnet{depth}", f"ResNet-{depth} (akamaster)", "cifar10", CIFAR10_SHAPE,
                     CIFAR10_CLASSES, f"{_AKAMASTER[0]} @ {_AKAMASTER[1][:8]}, pretrained_models/{filename}",
                     "standard", notes="normalised with the ImageNet mean/std, as in its training script")
    return Entry(info, partial(CifarResNet, depth), weight, IMAGENET_MEAN, IMAGENET_STD)


def _vnncomp(name: str) -> Entry:
    architecture, prefix, offline_sha = _VNNCOMP_FILES[name]
    weight = WeightFile(f"vnncomp2021_resnet{name}_model_best.pth",
                        url=_github(*_VNNCOMP[:2], f"{_VNNCOMP[2]}/resnet{name}/model_best.pth"),
                        sha256=prefix, convert=Unwrap("state_dict", "module."),
                        offline=(OfflineCopy(f"models/cifar10_vnncomp_resnet_pgd2/resnet{name}_pgd2.pt", offline_sha),))
    info = ModelInfo(f"cifar10-resnet{name}-pgd", f"ResNet-{name.upper()} (VNN-COMP, ℓ∞ adversarially trained)",
                     "cifar10", CIFAR10_SHAPE, CIFAR10_CLASSES,
                     f"{_VNNCOMP[0]} @ {_VNNCOMP[1][:8]}, {_VNNCOMP[2]}/resnet{name}/model_best.pth "
                     "(Wang et al., Beta-CROWN)", "adversarial ℓ∞ (PGD, ε = 2/255)",
                     notes="small verification benchmark network: low clean accuracy (≈70–77 %)")
    return Entry(info, architecture, weight, CIFAR10_MEAN, CIFAR10_STD)


def _robustbench(name: str, label: str, threat_model: str, training: str, notes: str, num_params: int) -> Entry:
    info = ModelInfo(f"cifar10-rb-{name.lower()}", label, "cifar10", CIFAR10_SHAPE, CIFAR10_CLASSES,
                     f"RobustBench model zoo: {name} (cifar10, {threat_model})", training,
                     notes=notes + "; needs the optional package robustbench")
    return Entry(info, external=robustbench_builder(name, "cifar10", threat_model), download_bytes=4 * num_params)


CIFAR10_ENTRIES = (
    *(_akamaster(depth) for depth in (20, 32, 44, 56)),
    _vnncomp("2b"),
    _vnncomp("4b"),
    _robustbench("Standard", "WideResNet-28-10 (RobustBench Standard)", "Linf", "standard", "paper model",
                 36_479_194),
    _robustbench("Carmon2019Unlabeled", "WideResNet-28-10 (Carmon 2019, ℓ∞)", "Linf",
                 "adversarial ℓ∞ (TRADES + unlabeled data, ε = 8/255)", "paper model", 36_479_194),
    _robustbench("Augustin2020Adversarial", "ResNet-50 (Augustin 2020, ℓ2)", "L2",
                 "adversarial ℓ2 (ε = 0.5)", "paper model", 23_520_842),
)

# --- ImageNet ----------------------------------------------------------------------------------------------------

_HASH = re.compile(r"-([a-f0-9]{8,})\.")


def _torchvision(name: str, label: str, arch: str, weights_name: str, notes: str = "") -> Entry:
    weights = tvm.get_weight(weights_name)
    filename = weights.url.rsplit("/", 1)[1]
    match = _HASH.search(filename)
    transform = weights.transforms()
    crop, resize = transform.crop_size[0], transform.resize_size[0]
    info = ModelInfo(name, label, "imagenet", (3, crop, crop), tuple(weights.meta["categories"]),
                     f"torchvision {weights_name} ({weights.url})", "standard",
                     notes=notes, resize=resize)
    weight = WeightFile(filename, url=weights.url, sha256=match.group(1) if match else None)
    return Entry(info, partial(tvm.get_model, arch, weights=None), weight, tuple(transform.mean),
                 tuple(transform.std))


def _madry(name: str, label: str, filename: str, url: str, training: str) -> Entry:
    info = ModelInfo(name, label, "imagenet", IMAGENET_SHAPE, IMAGENET_CLASSES,
                     f"MadryLab robustness library release ({url.split('?')[0]})", training, resize=256,
                     notes="published checkpoint (torch 1.1 + dill pickle) read with weights_only=True; the "
                           "publisher gives no checksum, so the file is checked by its strict load only")
    weight = WeightFile(filename, url=url, convert=Unwrap("model", "module.model."))
    return Entry(info, tvm.resnet50, weight, IMAGENET_MEAN, IMAGENET_STD)


IMAGENET_ENTRIES = (
    _torchvision("imagenet-resnet50", "ResNet-50 (torchvision)", "resnet50", "ResNet50_Weights.IMAGENET1K_V1",
                 "paper model"),
    _torchvision("imagenet-resnet18", "ResNet-18 (torchvision)", "resnet18", "ResNet18_Weights.IMAGENET1K_V1"),
    _torchvision("imagenet-mobilenet-v3-small", "MobileNetV3-Small (torchvision)", "mobilenet_v3_small",
                 "MobileNet_V3_Small_Weights.IMAGENET1K_V1", "fast"),
    _torchvision("imagenet-vit-b-16", "ViT-B/16 (torchvision)", "vit_b_16", "ViT_B_16_Weights.IMAGENET1K_V1",
                 "transformer; slow on CPU"),
    _madry("imagenet-resnet50-l2", "ResNet-50 (Madry, ℓ2 adversarially trained)", "imagenet_l2_3_0.pt",
           "https://www.dropbox.com/s/knf4uimlqsi1yz8/imagenet_l2_3_0.pt?dl=1", "adversarial ℓ2 (PGD, ε = 3)"),
    _madry("imagenet-resnet50-linf", "ResNet-50 (Madry, ℓ∞ adversarially trained)", "imagenet_linf_4.pt",
           "https://www.dropbox.com/s/axfuary2w1cnyrg/imagenet_linf_4.pt?dl=1", "adversarial ℓ∞ (PGD, ε = 4/255)"),
    Entry(ModelInfo("imagenet-squeezenet1_1-onnx", "SqueezeNet 1.1 (ONNX Model Zoo weights)", "imagenet",
                    IMAGENET_SHAPE, IMAGENET_CLASSES,
                    "ONNX Model Zoo squeezenet1.1 weights (via webmachinelearning/webnn-samples @ 3233166e), "
                    "converted to torchvision layout", "standard", resize=256,
                    notes="offline only (ALMA_WEIGHTS_DIR); not torchvision's own SqueezeNet weights"),
          tvm.squeezenet1_1,
          WeightFile("squeezenet1_1_onnxzoo.pt", offline=(OfflineCopy(
              "models/imagenet_squeezenet1_1_onnxzoo/squeezenet1_1_onnxzoo.pt",
              "fd69047fe5b6dfea5aa41bf59ded183ab431bff31fb0a88347f8ffa6ebf20963"),)),
          IMAGENET_MEAN, IMAGENET_STD),
    Entry(ModelInfo("imagenet-mobilenet-v2-keras", "MobileNetV2 (Keras Applications weights)", "imagenet",
                    IMAGENET_SHAPE, IMAGENET_CLASSES,
                    "Keras Applications MobileNetV2 ImageNet weights (int8 TFLite via phil137786/optimizing-models "
                    "@ f33c1dfd, dequantised) in torchvision layout", "standard", resize=256,
                    notes="offline only (ALMA_WEIGHTS_DIR); inputs scaled to [-1, 1]; torchvision padding, so "
                          "features may shift by one pixel compared with Keras"),
          tvm.mobilenet_v2,
          WeightFile("mobilenet_v2_keras_int8_dequant.pt", offline=(OfflineCopy(
              "models/imagenet_mobilenet_v2_keras_int8/mobilenet_v2_keras_int8_dequant.pt",
              "1cba8cc95ecae03bb90c9959e2d13511cdc656b76ec901bced21d71db67bfc01"),)),
          (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
)

ALL_ENTRIES = (*MNIST_ENTRIES, *CIFAR10_ENTRIES, *IMAGENET_ENTRIES)
ENTRIES: dict[str, Entry] = {e.info.name: e for e in ALL_ENTRIES}
DEFAULT_MODEL = "mnist-smallcnn"

