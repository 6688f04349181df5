"""The decision boundary around one input: a 2-D slice of input space through the clean input x, and the projection
of the attack's iterates x̃⁽ⁱ⁾ onto it.

The plane is {x + t_u·u + t_v·v} for two orthonormal directions u, v (ℓ2, in [C, H, W]); by default u = δ*/‖δ*‖₂
with δ* = x̃* − x the attack's best perturbation, and v the gradient ∇ₓc of the constraint at x made orthogonal to u
(`plane_directions`). `evaluate_slice` computes, on a grid of offsets (t_u, t_v), the constraint c(f(·)) (the
decision boundary is its zero level) and the attack's distance D(·, x). Everything is pure torch:

    u, v = plane_directions(model, x, y, adv)
    r = float((adv - x).norm())
    s = evaluate_slice(model, x, y, u, v, torch.linspace(-r, 2 * r, 61), torch.linspace(-r, r, 41),
                       distance="l1", scale_at=(r, None))
    a, b, residual = s.project(iterates)  # iterates [S, C, H, W], e.g. the attack's snapshots of one sample
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn

from . import distances
from .constraints import make_constraint

CLAMP_TOLERANCE = 1e-6
"""`Slice.clamped` marks points that clamping moved by more than this (not rounding errors at the box's faces)."""
Progress = Callable[[int, int], bool | None]
"""progress(done, total): grid points evaluated so far and in all; returning False stops the evaluation."""


class Coordinates(NamedTuple):
    """Coordinates of points on the slice's plane (see `Slice.project`); each has the points' leading shape."""

    a: Tensor
    b: Tensor
    residual: Tensor


class GridCost(NamedTuple):
    """forwards: images through the model (every grid point, plus x once for the constraint's reference);
    batches: the batched model calls over the grid (`progress` is called after each)."""

    forwards: int
    batches: int


@dataclass
class Slice:
    """c and D on the grid of points p = clamp(x + t_u·u + t_v·v, 0, 1), all on the CPU.

    x: the clean input [C, H, W]; u, v: the orthonormal directions [C, H, W]; t_u [N_u], t_v [N_v]: the ℓ2 offsets
    along u and v. Grids are [N_v, N_u] (row i is t_v[i], column j is t_u[j]): constraint = c(f(p)) (< 0 iff p is
    adversarial), distance = D(p, x), clamped = p had to be clamped into the box [0, 1]^d (by more than
    CLAMP_TOLERANCE in some value; p is off the plane there).
    scale_u, scale_v: D per unit of ℓ2 length along u and v (see `evaluate_slice`); the display coordinates are
    a = scale_u·t_u and b = scale_v·t_v, in units of D. complete: False when `progress` stopped the evaluation
    (the points not evaluated are NaN).
    """

    x: Tensor
    u: Tensor
    v: Tensor
    t_u: Tensor
    t_v: Tensor
    constraint: Tensor
    distance: Tensor
    clamped: Tensor
    scale_u: float
    scale_v: float
    distance_name: str
    complete: bool

    @property
    def a(self) -> Tensor:
        """The grid's columns in units of D: scale_u·t_u."""
        return self.scale_u * self.t_u

    @property
    def b(self) -> Tensor:
        """The grid's rows in units of D: scale_v·t_v."""
        return self.scale_v * self.t_v

    @property
    def dim(self) -> int:
        """d, the dimension of input space."""
        return self.x.numel()

    def project(self, points: Tensor) -> Coordinates:
        """The coordinates of points x̃ [..., C, H, W] (e.g. iterates [S, C, H, W]) on the plane.

        With δ = x̃ − x: a = scale_u·⟨δ, u⟩, b = scale_v·⟨δ, v⟩ (so a point t·u of the plane is at a = D(x + t·u, x)
        exactly for the ℓp distances, which are homogeneous, and the best adversarial, on u by default, at
        a = D(x̃*, x) for any distance when scale_u is measured there), and residual = ‖δ − ⟨δ, u⟩u − ⟨δ, v⟩v‖₂, the
        ℓ2 distance of x̃ to the plane (not scaled).
        """
        delta = (points.to(self.x) - self.x).flatten(-self.x.ndim)
        basis = torch.stack([self.u.flatten(), self.v.flatten()], 1)
        coords = delta @ basis
        residual = (delta - coords @ basis.T).norm(dim=-1)
        return Coordinates(self.scale_u * coords[..., 0], self.scale_v * coords[..., 1], residual)


def grid_cost(num_u: int, num_v: int, batch_size: int) -> GridCost:
    """What `evaluate_slice` on an N_u × N_v grid costs (`plane_directions` adds one forward and one backward for
    the gradient direction)."""
    return GridCost(num_u * num_v + 1, math.ceil(num_u * num_v / batch_size))


def unit(w: Tensor) -> Tensor:
    """w / ‖w‖₂; ValueError for a zero w."""
    norm = w.norm()
    if not norm > 0:
        raise ValueError("a plane direction is zero")
    return w / norm


def orthogonal_unit(u: Tensor, w: Tensor) -> Tensor:
    """One Gram–Schmidt step: w − ⟨w, u⟩u, normalised (u of unit norm); ValueError when w is parallel to u."""
    rest = w - (w * u).sum() * u
    if not rest.norm() > 1e-6 * w.norm():
        raise ValueError("the second direction is parallel to the first; choose another (e.g. v='random')")
    return unit(rest)


def random_direction(like: Tensor, seed: int) -> Tensor:
    """A random unit direction shaped like `like`: Gaussian from a seeded CPU generator, so the same on any device."""
    noise = torch.randn(like.shape, generator=torch.Generator().manual_seed(seed), dtype=like.dtype)
    return unit(noise).to(like.device)


def constraint_gradient(model: nn.Module, x: Tensor, label: int, *, constraint: str = "dlr", targeted: bool = False,
                        logit_tolerance: float = 1e-4) -> Tensor:
    """∇ₓ c(f(x)) [C, H, W]: c is the attack's constraint (`alma.constraints`) for the label y (or target t)."""
    inputs = x.detach()[None].requires_grad_(True)
    logits = model(inputs)
    labels = torch.tensor([label], device=x.device)
    c = make_constraint(constraint, logits.detach(), labels, targeted, logit_tolerance)(logits)
    return torch.autograd.grad(c.sum(), inputs)[0][0]


def plane_directions(model: nn.Module, x: Tensor, label: int, adv: Tensor | None = None, *, u: Tensor | None = None,
                     v: str | Tensor = "gradient", seed: int = 0, constraint: str = "dlr", targeted: bool = False,
                     logit_tolerance: float = 1e-4) -> tuple[Tensor, Tensor]:
    """Orthonormal directions (u, v) [C, H, W] spanning the slice through x [C, H, W].

    u: the given direction, normalised, or else δ*/‖δ*‖₂ with δ* = x̃* − x (adv = x̃*, the best adversarial).
    v: "gradient" for ∇ₓc(f(x)) (the constraint, label y / target t and κ as in the attack), "random" for a seeded
    Gaussian direction, or a given direction; in every case made orthogonal to u (Gram–Schmidt) and normalised.
    """
    if u is None:
        if adv is None:
            raise ValueError("give the best adversarial `adv` or a direction `u`")
        u = adv - x
    u = unit(u.to(x))
    if isinstance(v, Tensor):
        w = v.to(x)
    elif v == "gradient":
        w = constraint_gradient(model, x, label, constraint=constraint, targeted=targeted,
                                logit_tolerance=logit_tolerance)
    elif v == "random":
        w = random_direction(x, seed)
    else:
        raise ValueError(f"v must be 'gradient', 'random' or a tensor, got {v!r}")
    return u, orthogonal_unit(u, w)


@torch.no_grad()
def evaluate_slice(model: nn.Module, x: Tensor, label: int, u: Tensor, v: Tensor, t_u: Tensor, t_v: Tensor, *,
                   distance: str | distances.Distance = "l2", constraint: str = "dlr", targeted: bool = False,
                   logit_tolerance: float = 1e-4, batch_size: int = 256,
                   scale_at: tuple[float | None, float | None] = (None, None),
                   progress: Progress | None = None) -> Slice:
    """c(f(p)) and D(p, x) at every p = x + t_u[j]·u + t_v[i]·v, in batches of at most `batch_size` on the model's
    device (`grid_cost` says how many forwards).

    x [C, H, W] in [0, 1]; label: y (or the target t when `targeted`); u, v: orthonormal directions
    (`plane_directions`); t_u, t_v: 1-D ℓ2 offsets. Points outside the box [0, 1]^d are clamped into it before they
    are evaluated (as the attack clamps its iterates), so there c and D belong to the clamped point, which is off
    the plane; `Slice.clamped` marks them. constraint, targeted, logit_tolerance: c as in `alma.attack`.
    distance: D, any name of `alma.distances.available()`.

    Scales: scale_w = D(q, x)/‖q − x‖₂ with q = clamp(x + t·w, 0, 1) at the ℓ2 offset t = scale_at (per axis; None:
    the offset of largest magnitude on that axis), a ratio at an in-box point, so no distance sees values outside
    [0, 1] (1 if q = x). It is 1 for ℓ2; for the other ℓp distances it is ‖w‖_p where q is not clamped; with
    u = δ*/‖δ*‖₂, scale_at = (‖δ*‖₂, None) puts x̃* at a = D(x̃*, x) for any distance.
    progress(done, total) is called after each batch; when it returns False the evaluation stops.
    """
    device = next(model.parameters(), x).device
    x = x.detach().to(device)
    basis = torch.stack([u.flatten(), v.flatten()]).to(x)
    if not torch.allclose(basis @ basis.T, torch.eye(2).to(x), atol=1e-4):
        raise ValueError("u and v must be orthonormal (see plane_directions)")
    t_u, t_v = t_u.to(x), t_v.to(x)
    offsets = torch.cartesian_prod(t_v, t_u).flip(1)  # [N_v·N_u, 2], (t_u, t_v) in row-major order of the grid
    total = len(offsets)
    dist = distances.get(distance)
    clean_logits = model(x[None])
    fns: dict[int, tuple[Callable, Callable]] = {}

    def functions(n: int) -> tuple[Callable, Callable]:  # c and D(·, x) for a batch of n points
        if n not in fns:
            labels = torch.full((n,), label, device=device, dtype=torch.long)
            c_fn = make_constraint(constraint, clean_logits.expand(n, -1), labels, targeted, logit_tolerance)
            fns[n] = c_fn, dist.build(x.expand(n, *x.shape))
        return fns[n]

    def points(coords: Tensor) -> tuple[Tensor, Tensor]:
        p = x.flatten() + coords @ basis
        outside = ((p < -CLAMP_TOLERANCE) | (p > 1 + CLAMP_TOLERANCE)).any(1)
        return p.clamp(0, 1).view(-1, *x.shape), outside

    c = torch.full((total,), float("nan"), dtype=x.dtype)
    d, clamped = c.clone(), torch.zeros(total, dtype=torch.bool)
    done = 0
    while done < total:
        stop = min(done + batch_size, total)
        p, outside = points(offsets[done:stop])
        c_fn, d_fn = functions(stop - done)
        c[done:stop], d[done:stop], clamped[done:stop] = c_fn(model(p)).cpu(), d_fn(p).cpu(), outside.cpu()
        done = stop
        if progress is not None and progress(done, total) is False:
            break

    scales = []
    for axis, (t, given) in enumerate(zip((t_u, t_v), scale_at)):
        at = t[t.abs().argmax()] if given is None else torch.tensor(given).to(x)
        q, _ = points(torch.stack([at, torch.zeros_like(at)]).roll(axis)[None])
        length = (q - x).norm()
        scales.append(float(functions(1)[1](q) / length) if length > 0 else 1.0)
    shape = (len(t_v), len(t_u))
    return Slice(x=x.cpu(), u=basis[0].view(x.shape).cpu(), v=basis[1].view(x.shape).cpu(), t_u=t_u.cpu(),
                 t_v=t_v.cpu(), constraint=c.view(shape), distance=d.view(shape), clamped=clamped.view(shape),
                 scale_u=scales[0], scale_v=scales[1], distance_name=dist.name, complete=done == total)
