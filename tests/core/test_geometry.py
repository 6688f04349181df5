"""The 2-D slice through an input: the boundary c = 0 where the closed form puts it on linear models, the geometry of
a real attack on the bundled MNIST model, the directions, the cost and the stop, and the figure."""
from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

import alma
from alma.geometry import (
    evaluate_slice,
    grid_cost,
    plane_directions,
    random_direction,
)
from alma.models import DEFAULT_MODEL, load_model

from .conftest import Linear

KAPPA = 1e-4


def zero_crossings(t: Tensor, c: Tensor) -> Tensor:
    """Per row of c [N_v, N_u], the t where the row first changes sign, by linear interpolation (NaN if none)."""
    out = torch.full((len(c),), float("nan"), dtype=t.dtype)
    for i, row in enumerate(c):
        change = ((row[:-1] > 0) != (row[1:] > 0)).nonzero()
        if len(change):
            j = int(change[0])
            out[i] = t[j] + (t[j + 1] - t[j]) * row[j] / (row[j] - row[j + 1])
    return out


def boundary_on_rows(model: Linear, x: Tensor, label: int, targeted: bool, u: Tensor, v: Tensor, t_v: Tensor,
                     t_range: tuple[float, float]) -> Tensor:
    """The closed form: per row t_v[i], the t where x + t·u + t_v[i]·v meets the boundary, i.e. the root of
    z_y − z_j = ∓κ (one hyperplane per other class j) at which the margin z_y − max_{j≠y} z_j is that value."""
    w, bias = model.weight, model.bias
    others = [j for j in range(len(w)) if j != label]
    g = w[label] - w[others]  # [K−1, d]: z_y − z_j = g·p + β
    beta = bias[label] - bias[others]
    level = KAPPA if targeted else -KAPPA
    roots = torch.full((len(t_v),), float("nan"), dtype=x.dtype)
    for i, s in enumerate(t_v):
        base = x.flatten() + s * v.flatten()
        for k in range(len(others)):
            t = (level - beta[k] - g[k] @ base) / (g[k] @ u.flatten())
            margin = (g @ (base + t * u.flatten()) + beta).min()
            if t_range[0] <= t <= t_range[1] and abs(margin - level) < 1e-9:
                roots[i] = t
    return roots


@pytest.mark.parametrize(("num_classes", "constraint", "targeted"),
                         [(2, "logit_diff", False), (2, "dlr", False), (2, "dlr", True), (3, "dlr", False),
                          (3, "logit_diff", True)])
def test_the_boundary_lies_on_the_closed_form_hyperplanes(num_classes: int, constraint: str, targeted: bool) -> None:
    gen = torch.Generator().manual_seed(num_classes)
    weight = torch.randn(num_classes, 16, generator=gen, dtype=torch.float64)
    x = torch.full((1, 4, 4), 0.5, dtype=torch.float64)
    bias = -weight @ x.flatten() + torch.linspace(0.5, 0.0, num_classes, dtype=torch.float64)
    model = Linear(weight, bias)  # predicts class 0 at x
    label = num_classes - 1 if targeted else 0
    g = (weight[label] - weight).sum(0).view(x.shape)  # Σ_j ∇(z_y − z_j)
    towards = g if targeted else -g  # u heads into the adversarial side
    u, v = plane_directions(model, x, label, u=towards + g.norm() * random_direction(x, seed=1), v="random")
    t_u, t_v = torch.linspace(-0.1, 0.4, 101, dtype=torch.float64), torch.linspace(-0.2, 0.2, 9, dtype=torch.float64)

    plane = evaluate_slice(model, x, label, u, v, t_u, t_v, constraint=constraint, targeted=targeted, batch_size=64)

    assert not plane.clamped.any() and plane.complete
    assert (plane.constraint[:, 0] > 0).all() and (plane.constraint[:, -1] < 0).all()
    expected = boundary_on_rows(model, x, label, targeted, u, v, t_v, (-0.1, 0.4))
    assert not expected.isnan().any()
    step = float(t_u[1] - t_u[0])
    tolerance = 1e-9 if num_classes == 2 else step  # exact between grid points unless a kink of max_j falls there
    torch.testing.assert_close(zero_crossings(t_u, plane.constraint), expected, atol=tolerance, rtol=0)
    # the ℓ2 distance grid is the Euclidean norm of the offsets where nothing is clamped
    torch.testing.assert_close(plane.distance, torch.hypot(t_u[None], t_v[:, None]))


def test_clamping_is_marked_and_distances_belong_to_the_clamped_points() -> None:
    model = Linear(torch.randn(3, 16, dtype=torch.float64), torch.zeros(3, dtype=torch.float64))
    x = torch.rand(1, 4, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    u, v = plane_directions(model, x, 0, u=random_direction(x, seed=2), v="random", seed=3)
    t = torch.linspace(-2, 2, 9, dtype=torch.float64)
    plane = evaluate_slice(model, x, 0, u, v, t, t, distance="l1")
    points = x.flatten() + t[None, :, None] * u.flatten() + t[:, None, None] * v.flatten()  # [N_v, N_u, d]
    outside = ((points < 0) | (points > 1)).any(-1)
    assert outside.any() and not outside.all()
    assert torch.equal(plane.clamped, outside)
    torch.testing.assert_close(plane.distance, (points.clamp(0, 1) - x.flatten()).abs().sum(-1))


def test_l1_coordinates_are_distances_along_the_axes() -> None:
    model = Linear(torch.randn(3, 16, dtype=torch.float64), torch.zeros(3, dtype=torch.float64))
    x = torch.full((1, 4, 4), 0.5, dtype=torch.float64)
    u, v = plane_directions(model, x, 0, u=random_direction(x, seed=4), v="random", seed=5)
    t = torch.linspace(-0.3, 0.3, 5, dtype=torch.float64)
    plane = evaluate_slice(model, x, 0, u, v, t, t, distance="l1")
    for direction, coordinate in ((u, 0), (v, 1)):
        points = x + t[:, None, None, None] * direction
        coords = plane.project(points)
        torch.testing.assert_close(coords[coordinate], torch.sign(t) * (points - x).flatten(1).norm(p=1, dim=1))
        torch.testing.assert_close(coords[1 - coordinate], torch.zeros_like(t), atol=1e-12, rtol=0)


@pytest.fixture(scope="module")
def mnist_attack(mnist_test: tuple[Tensor, Tensor]) -> tuple[nn.Module, Tensor, int, Tensor]:
    """The bundled MNIST model, a correctly classified test digit x, its label and ALMA's ℓ2 adversarial (100 steps)."""
    model = load_model(DEFAULT_MODEL)
    images, labels = mnist_test[0][:2], mnist_test[1][:2]
    result = alma.attack(model, images, labels, distance="l2", num_steps=100, record=False)
    with torch.no_grad():
        ok = (result.success & (model(images).argmax(1) == labels)).nonzero()
    i = int(ok[0])
    return model, images[i], int(labels[i]), result.adv_inputs[i]


def test_a_real_attack_seen_on_its_slice(mnist_attack: tuple[nn.Module, Tensor, int, Tensor]) -> None:
    model, x, label, adv = mnist_attack
    u, v = plane_directions(model, x, label, adv)
    r = float((adv - x).norm())
    t_u = r * torch.linspace(-1, 2, 13)  # contains 0 and r (columns 4 and 8)
    t_v = r * torch.linspace(-1, 1, 9)  # contains 0 (row 4)

    plane = evaluate_slice(model, x, label, u, v, t_u, t_v, batch_size=50)

    assert plane.complete and plane.scale_u == pytest.approx(1) and plane.scale_v == pytest.approx(1)
    assert plane.constraint[4, 4] > 0, "the clean input is classified correctly"
    assert plane.constraint[4, 8] < 0, "the best adversarial is adversarial on the slice too"
    with torch.no_grad():
        logits = model(torch.stack([x, adv]))
    c = alma.constraints.make_constraint("dlr", logits[:1].expand(2, -1), torch.tensor([label] * 2), False)(logits)
    torch.testing.assert_close(plane.constraint[4, [4, 8]], c, atol=1e-4, rtol=0)
    torch.testing.assert_close(plane.distance[4, 8], torch.tensor(r), rtol=1e-4, atol=0)
    assert not plane.clamped[4, 4:9].any(), "the segment from x to x̃* lies in the box"

    best = plane.project(adv)
    assert float(best.a) == pytest.approx(r, rel=1e-5)
    assert abs(float(best.b)) < 1e-5 * r and float(best.residual) < 1e-5 * r

    iterates = (x + 0.3 * torch.randn(6, *x.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    coords = plane.project(iterates)
    delta = (iterates - x).flatten(1)
    torch.testing.assert_close(coords.a, delta @ u.flatten())
    torch.testing.assert_close(coords.b, delta @ v.flatten())
    in_plane = (delta @ u.flatten())[:, None] * u.flatten() + (delta @ v.flatten())[:, None] * v.flatten()
    torch.testing.assert_close(coords.residual, (delta - in_plane).norm(dim=1))
    stacked = plane.project(iterates[:, None])  # [S, 1, C, H, W]: any leading shape
    assert stacked.a.shape == (6, 1)

    l1 = evaluate_slice(model, x, label, u, v, t_u[:1], t_v[:1], distance="l1", scale_at=(r, None))
    assert float(l1.project(adv).a) == pytest.approx(float((adv - x).abs().sum()), rel=1e-5)


def test_directions(mnist_attack: tuple[nn.Module, Tensor, int, Tensor]) -> None:
    model, x, label, adv = mnist_attack
    u, v = plane_directions(model, x, label, adv)
    basis = torch.stack([u.flatten(), v.flatten()])
    torch.testing.assert_close(basis @ basis.T, torch.eye(2), atol=1e-6, rtol=0)
    torch.testing.assert_close(u, (adv - x) / (adv - x).norm())
    grad = alma.geometry.constraint_gradient(model, x, label).flatten()
    in_plane = (basis @ grad) @ basis
    torch.testing.assert_close(in_plane, grad, atol=1e-5 * float(grad.norm()), rtol=0)  # ∇c lies in span(u, v)
    assert float(grad @ v.flatten()) > 0

    _, r1 = plane_directions(model, x, label, adv, v="random", seed=7)
    _, r2 = plane_directions(model, x, label, adv, v="random", seed=7)
    _, r3 = plane_directions(model, x, label, adv, v="random", seed=8)
    assert torch.equal(r1, r2) and not torch.allclose(r1, r3)
    assert abs(float(r1.flatten() @ u.flatten())) < 1e-6
    with pytest.raises(ValueError, match="parallel"):
        plane_directions(model, x, label, adv, v=2 * (adv - x))


def test_cost_and_stopping(mnist_attack: tuple[nn.Module, Tensor, int, Tensor]) -> None:
    model, x, label, adv = mnist_attack
    u, v = plane_directions(model, x, label, adv, v="random")
    t_u, t_v = torch.linspace(-1, 1, 7), torch.linspace(-1, 1, 5)
    assert grid_cost(7, 5, batch_size=10) == (36, 4)
    calls: list[tuple[int, int]] = []
    full = evaluate_slice(model, x, label, u, v, t_u, t_v, batch_size=10, progress=lambda *a: calls.append(a))
    assert calls == [(10, 35), (20, 35), (30, 35), (35, 35)] and full.complete

    stopped = evaluate_slice(model, x, label, u, v, t_u, t_v, batch_size=10, progress=lambda done, total: done < 20)
    assert not stopped.complete
    flat = stopped.constraint.flatten()
    assert not flat[:20].isnan().any() and flat[20:].isnan().all()
    torch.testing.assert_close(flat[:20], full.constraint.flatten()[:20])


def test_geometry_figure(mnist_attack: tuple[nn.Module, Tensor, int, Tensor]) -> None:
    pytest.importorskip("plotly")
    from ui.figures_geometry import geometry_figure

    model, x, label, adv = mnist_attack
    u, v = plane_directions(model, x, label, adv)
    r = float((adv - x).norm())
    plane = evaluate_slice(model, x, label, u, v, r * torch.linspace(-1, 2, 7), r * torch.linspace(-1, 1, 5))
    path = plane.project(torch.stack([x + s * (adv - x) for s in torch.linspace(0, 1, 6)]))
    fig = geometry_figure(plane, path, steps=range(0, 60, 10), first_adv=(0.8 * r, 0.0), best=(r, 0.0),
                          highlight_step=30, distance_label="ℓ2")
    names = [trace.name for trace in fig.data]
    for name in ("ℓ2 level sets", "decision boundary c = 0", "iterates x̃⁽ⁱ⁾ (projected)", "step 30", "clean input x",
                 "first adversarial", "best adversarial x̃*"):
        assert name in names
    boundary = fig.data[names.index("decision boundary c = 0")]
    assert boundary.contours.type == "constraint" and boundary.contours.value == 0 and boundary.line.width >= 3
    assert list(fig.data[names.index("iterates x̃⁽ⁱ⁾ (projected)")].marker.color) == list(range(0, 60, 10))
    assert fig.layout.yaxis.scaleanchor == "x" and "d = 784" in fig.layout.title.text
