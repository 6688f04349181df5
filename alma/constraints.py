"""Constraint functions c(z): negative if and only if the logits z are adversarial.

"dlr" is the paper's modified Difference of Logits Ratio (DLR⁺, tDLR⁺ when targeted); "logit_diff" is the plain
difference of logits (as in C&W). Both include the reference implementation's logit tolerance κ (1e-4): untargeted,
c < 0 needs z_y < max_{j≠y} z_j − κ; targeted, c < 0 needs z_t > max_{j≠t} z_j + κ. (The reference code adds κ with
the same sign in both cases, which turns the targeted margin into a slack; here it is a margin in both.)

DLR's denominator needs the 3 largest logits (4 targeted). With fewer classes (e.g. a 2-class model) "dlr" falls
back to the logit difference divided by its magnitude at the clean input, so that c starts at ±1 as DLR does and
stays invariant to shifting and scaling the logits.

`make_constraint` gives c(·) as a differentiable function; `ConstraintKernel` is what the attack's loop uses: the
same c, and its gradient ∂c/∂z in closed form, each in a few kernels writing into preallocated buffers.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

ConstraintFn = Callable[[Tensor], Tensor]
CONSTRAINTS = ("dlr", "logit_diff")


def logit_margin(logits: Tensor, labels: Tensor, labels_infhot: Tensor) -> Tensor:
    """z_y − max_{j≠y} z_j for each sample."""
    class_logits = logits.gather(1, labels.unsqueeze(1)).squeeze(1)
    other_logits = (logits - labels_infhot).amax(dim=1)
    return class_logits - other_logits


def dlr_denominator(logits: Tensor, targeted: bool) -> Tensor:
    """z_π1 − z_π3 (untargeted) or z_π1 − (z_π3 + z_π4)/2 (targeted), plus 1e-8."""
    if targeted:
        top = logits.topk(k=4, dim=1).values
        return top[:, 0] - (top[:, -2] + top[:, -1]) / 2 + 1e-8
    top = logits.topk(k=3, dim=1).values
    return top[:, 0] - top[:, -1] + 1e-8


def _validate(name: str, clean_logits: Tensor, labels: Tensor) -> None:
    if name not in CONSTRAINTS:
        raise ValueError(f"unknown constraint {name!r}; available: {', '.join(CONSTRAINTS)}")
    num_classes = clean_logits.shape[1]
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be class indices in [0, {num_classes}) for this model")


def make_constraint(name: str, clean_logits: Tensor, labels: Tensor, targeted: bool,
                    tolerance: float = 1e-4) -> ConstraintFn:
    """c(·) for these labels (true labels, or targets when `targeted`); `clean_logits` are f(x) at the clean input."""
    _validate(name, clean_logits, labels)
    num_classes = clean_logits.shape[1]
    infhot = torch.zeros_like(clean_logits).scatter_(1, labels.unsqueeze(1), float("inf"))
    sign = -1 if targeted else 1
    shift = -tolerance if targeted else tolerance  # κ is a margin on the adversarial side in both cases

    def margin(logits: Tensor) -> Tensor:
        return sign * (logit_margin(logits, labels, infhot) + shift)

    if name == "logit_diff":
        return margin
    if num_classes >= (4 if targeted else 3):
        return lambda logits: margin(logits) / dlr_denominator(logits, targeted)
    scale = logit_margin(clean_logits, labels, infhot).detach().abs().clamp(min=1e-6)
    return lambda logits: margin(logits) / scale


def _columns(buffer: Tensor, start: int, stop: int) -> Tensor:
    """buffer[:, start:stop], with the strides of a contiguous tensor when the batch is one sample: then `out=` of
    topk, max and gather writes in place instead of through a temporary."""
    view = buffer[:, start:stop]
    return view.as_strided(view.shape, (stop - start, 1)) if len(buffer) == 1 else view


class ConstraintKernel:
    """c(z) of `make_constraint` and ∂c/∂z, for the attack's loop: fixed shapes, results in preallocated buffers,
    no autograd and no host synchronisation.

    Every constraint here is a ratio c = N/Q of logits picked by index: the numerator N = z_y − (z_m − κ) (untargeted)
    or (z_m + κ) − z_t (targeted), m = argmax_{j≠y} z_j; the denominator Q = z_π1 − z_π3 + 1e-8 (DLR; targeted
    z_π1 − (z_π3 + z_π4)/2 + 1e-8, π sorting z), the clean margin (few classes) or 1 ("logit_diff"). With the picked
    indices I = (y, m, π1, π2, …) and fixed weights w_N, w_Q (N = w_N·z_I + const, Q = w_Q·z_I + const), the
    gradient is ∂c/∂z_I = (w_N − c·w_Q)/Q, scattered into the logits. For the paper's untargeted DLR, the picked
    logits sit in one buffer (z_y, ·, z_m − κ, z_π1, z_π2, z_π3) so that one subtraction of two strided views gives
    (N, Q − 1e-8).
    """

    def __init__(self, name: str, clean_logits: Tensor, labels: Tensor, targeted: bool, tolerance: float,
                 out: Tensor) -> None:
        """out: the [B, 1] buffer that receives c."""
        _validate(name, clean_logits, labels)
        batch, num_classes = clean_logits.shape
        device, dtype = clean_logits.device, clean_logits.dtype
        self.targeted, self.c = targeted, out
        self.top = (4 if targeted else 3) if name == "dlr" and num_classes >= (4 if targeted else 3) else 0
        width = 2 + self.top
        column = labels.view(-1, 1)
        # z − mask has −inf at the label and z_j ∓ κ elsewhere: its maximum is z_m − κ (untargeted), z_m + κ (targeted)
        self.mask = torch.full_like(clean_logits, tolerance if not targeted else -tolerance)
        self.mask.scatter_(1, column, float("inf"))
        self.shifted = torch.empty_like(clean_logits)
        self.index = torch.zeros(batch, width, device=device, dtype=torch.long)
        self.index[:, :1] = column
        self.label_index, self.other_index = _columns(self.index, 0, 1), _columns(self.index, 1, 2)
        self.top_index = _columns(self.index, 2, width)
        self.picked = torch.empty(batch, 3 + self.top, device=device, dtype=dtype)  # z_y, ·, z_m ∓ κ, z_π1, …
        self.label_logit, self.other_logit = _columns(self.picked, 0, 1), _columns(self.picked, 2, 3)
        self.top_logits = _columns(self.picked, 3, 3 + self.top)
        self.top_columns = tuple(self.picked[:, 3 + k:4 + k] for k in range(self.top))
        self.ratio = torch.empty(batch, 2, device=device, dtype=dtype)  # (N, Q)
        self.numerator, self.denominator = self.ratio[:, :1], self.ratio[:, 1:]
        self.fused = self.top == 3
        if self.fused:
            self.minuends, self.subtrahends = self.picked[:, 0::3], self.picked[:, 2::3]  # (z_y, z_π1), (z_m − κ, z_π3)
            self.offsets = torch.tensor([0.0, 1e-8], device=device, dtype=dtype)
        w_num = torch.zeros(width, device=device, dtype=dtype)
        w_num[:2] = torch.tensor([-1.0, 1.0] if targeted else [1.0, -1.0])
        self.w_num, self.w_den = w_num.expand(batch, width), None
        if self.top:
            w_den = torch.zeros(width, device=device, dtype=dtype)
            w_den[2] = 1
            w_den[4:] = -1 / (self.top - 2)
            self.w_den = w_den.expand(batch, width)
        elif name == "dlr":  # few classes: the clean margin, a constant
            infhot = torch.zeros_like(clean_logits).scatter_(1, column, float("inf"))
            self.denominator.copy_(logit_margin(clean_logits, labels, infhot).abs().clamp(min=1e-6).view(-1, 1))
        else:
            self.denominator = None
        self.scale, self.coefficients = torch.empty_like(out), torch.empty(batch, width, device=device, dtype=dtype)
        self.zeros = torch.zeros_like(clean_logits)

    def __call__(self, logits: Tensor) -> Tensor:
        """c(z) into the `out` buffer [B, 1] (logits: detached, or under `torch.no_grad()`)."""
        torch.sub(logits, self.mask, out=self.shifted)
        torch.max(self.shifted, 1, keepdim=True, out=(self.other_logit, self.other_index))
        torch.gather(logits, 1, self.label_index, out=self.label_logit)
        if self.top:
            torch.topk(logits, self.top, out=(self.top_logits, self.top_index))
        if self.fused:
            torch.sub(self.minuends, self.subtrahends, out=self.ratio).add_(self.offsets)
            return torch.div(self.numerator, self.denominator, out=self.c)
        first, second = (self.other_logit, self.label_logit) if self.targeted else (self.label_logit, self.other_logit)
        if self.denominator is None:
            return torch.sub(first, second, out=self.c)
        torch.sub(first, second, out=self.numerator)
        if self.top:  # targeted DLR
            top = self.top_columns
            torch.add(top[2], top[3], out=self.denominator)
            torch.sub(top[0], self.denominator, alpha=0.5, out=self.denominator).add_(1e-8)
        return torch.div(self.numerator, self.denominator, out=self.c)

    def backward(self, grad_c: Tensor) -> Tensor:
        """∂L/∂z [B, K] for ∂L/∂c = `grad_c` [B, 1], at the logits of the last call."""
        if self.denominator is None:
            torch.mul(self.w_num, grad_c, out=self.coefficients)
        else:
            torch.div(grad_c, self.denominator, out=self.scale)
            if self.w_den is None:
                torch.mul(self.w_num, self.scale, out=self.coefficients)
            else:
                torch.addcmul(self.w_num, self.c, self.w_den, value=-1, out=self.coefficients)
                self.coefficients.mul_(self.scale)
        return torch.scatter_add(self.zeros, 1, self.index, self.coefficients)
