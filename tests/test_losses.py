import numpy as np
import pytest
import torch

from stylekit import content_loss, gram, optimise, style_layer_loss, tv_loss
from stylekit.losses import gram_of_sums, gram_sums, relative_error


def features(n=8, h=5, w=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, n, h, w, generator=g, dtype=torch.float64)


def test_content_loss_is_half_sum_of_squares():
    f, p = features(seed=0), features(seed=1)
    expected = 0.5 * np.sum((f.numpy() - p.numpy()) ** 2)
    assert np.isclose(content_loss(f, p.float()).item(), expected, rtol=1e-5)


def test_gram_and_style_loss_match_the_thesis_formula():
    f, s = features(seed=0), features(seed=2)
    n, m = f.shape[1], f.shape[2] * f.shape[3]
    F, S = f.numpy().reshape(n, m), s.numpy().reshape(n, m)
    G, A = F @ F.T, S @ S.T
    np.testing.assert_allclose(gram(f).numpy() * m, G, rtol=1e-4)
    e_l = np.sum((G - A) ** 2) / (4 * n**2 * m**2)
    assert np.isclose(style_layer_loss(f, gram(s)).item(), e_l, rtol=1e-4)


def test_style_loss_compares_images_of_different_sizes():
    """Same texture statistics at two sizes: the M-normalised Gram makes the loss near zero."""
    g = torch.Generator().manual_seed(0)
    small, large = torch.rand(1, 4, 64, 64, generator=g), torch.rand(1, 4, 128, 128, generator=g)
    unrelated = torch.rand(1, 4, 64, 64, generator=g) * 3
    assert style_layer_loss(small, gram(large)) < 0.01 * style_layer_loss(unrelated, gram(large))


def test_tv_loss():
    x = torch.rand(1, 3, 6, 9, dtype=torch.float64)
    a = x.numpy()
    expected = np.mean(np.diff(a, axis=2) ** 2) + np.mean(np.diff(a, axis=3) ** 2)
    assert np.isclose(tv_loss(x).item(), expected)
    assert tv_loss(torch.ones(1, 3, 6, 9)) == 0


def test_content_gradient_matches_the_thesis_derivative():
    """∂L/∂F = (F − P) where F > 0, through the ReLU that produced F."""
    x, p = features(seed=3).requires_grad_(), torch.relu(features(seed=4))
    f = torch.relu(x)
    content_loss(f, p).backward()
    analytic = (f - p).detach() * (x > 0)
    torch.testing.assert_close(x.grad, analytic.to(x.grad.dtype), rtol=1e-5, atol=1e-6)


def test_style_gradient_matches_the_thesis_derivative():
    """∂E_l/∂F = (Fᵀ(G − A))ᵀ / (N²M²) where F > 0."""
    x, s = features(seed=5).requires_grad_(), torch.relu(features(seed=6))
    f = torch.relu(x)
    style_layer_loss(f, gram(s)).backward()
    n, m = f.shape[1], f.shape[2] * f.shape[3]
    F = f.detach().reshape(n, m).double()
    G, A = F @ F.T, s.reshape(n, m) @ s.reshape(n, m).T
    analytic = (F.T @ (G - A)).T / (n**2 * m**2)
    torch.testing.assert_close(
        x.grad.reshape(n, m), (analytic * (x.detach().reshape(n, m) > 0)).to(x.grad.dtype), rtol=1e-4, atol=1e-7
    )


def reference_gram(f):
    """The Gram matrix written plainly, for autograd to differentiate."""
    f = f.float().reshape(f.shape[1], -1)
    return f @ f.T / f.shape[1]


def fast_gram(features, mask=None):
    """The Gram matrix the optimisation uses: ``gram``'s formula on the fast path."""
    return gram_of_sums(*gram_sums(features, mask))[0]  # one image of a batch of one


BOTH = pytest.mark.parametrize("gram", [gram, fast_gram], ids=["gram", "fast path"])


@BOTH
def test_gram_gradient_matches_autograd(gram):
    weights = torch.randn(8, 8, generator=torch.Generator().manual_seed(7))  # an arbitrary upstream gradient
    ours, ref = features(seed=9).float().requires_grad_(), features(seed=9).float().requires_grad_()
    (gram(ours) * weights).sum().backward()
    (reference_gram(ref) * weights).sum().backward()
    torch.testing.assert_close(gram(ours), reference_gram(ref))
    torch.testing.assert_close(ours.grad, ref.grad)


@BOTH
def test_a_hard_mask_gives_the_gram_matrix_and_gradient_of_its_region_alone(gram):
    """A 0/1 mask, given at twice the layer's resolution as masks of images are: G of the positions it keeps."""
    f, weights = features(h=6, w=8, seed=12).float(), torch.randn(8, 8, generator=torch.Generator().manual_seed(13))
    keep = torch.zeros(6, 8, dtype=torch.bool)
    keep[1:4, 2:7] = True
    mask = keep.float().repeat_interleave(2, 0).repeat_interleave(2, 1)[None, None]  # 12×16, each 2×2 cell 0 or 1
    ours = f.clone().requires_grad_()
    region = f[..., keep].clone().requires_grad_()  # (1, N, kept positions)
    (gram(ours, mask) * weights).sum().backward()
    (reference_gram(region) * weights).sum().backward()
    torch.testing.assert_close(gram(ours, mask), reference_gram(region))
    torch.testing.assert_close(ours.grad[..., keep], region.grad)
    assert (ours.grad[..., ~keep] == 0).all()  # what the mask leaves out gets no gradient


@BOTH
def test_gram_of_bf16_channels_last_features_is_fp32_with_a_bf16_gradient(gram):
    f32 = torch.relu(features(n=64, h=16, w=16, seed=10)).float().contiguous(memory_format=torch.channels_last)
    bf16 = f32.bfloat16().requires_grad_()
    exact = f32.bfloat16().float().requires_grad_()  # the same values, differentiated in fp32
    weights = torch.randn(64, 64, generator=torch.Generator().manual_seed(11))
    g = gram(bf16)
    assert g.dtype == torch.float32
    torch.testing.assert_close(g, reference_gram(exact))  # bf16 values, fp32 products: no rounding of G
    (g * weights).sum().backward()
    (reference_gram(exact) * weights).sum().backward()
    assert bf16.grad.dtype == torch.bfloat16
    assert (bf16.grad.float() - exact.grad).norm() < 5e-3 * exact.grad.norm()  # bf16 rounding, no worse


def test_relative_error_is_zero_for_a_match_and_one_for_zeros():
    t = features(seed=3)
    assert relative_error(t, t) == 0
    assert torch.isclose(relative_error(torch.zeros_like(t), t), torch.tensor(1.0, dtype=torch.float32))


class Quadratic:
    """‖x − t‖², the smallest objective ``optimise`` can run."""

    def __init__(self, target):
        self.target = target

    def backward(self, image):
        total = ((image - self.target) ** 2).sum()
        total.backward()
        return {"total": total.detach()}


@pytest.mark.parametrize("optimizer, lr, steps", [("lbfgs", 1.0, 5), ("adam", 0.1, 100)])
def test_optimise_lowers_the_loss_and_stops_when_asked(optimizer, lr, steps):
    target = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    image = torch.zeros_like(target).requires_grad_(True)
    seen = [float(losses["total"]) for losses in optimise(image, Quadratic(target), steps, optimizer, lr)]
    assert len(seen) == steps and seen[-1] < 0.01 * seen[0]
    before = image.detach().clone()
    for _ in optimise(image, Quadratic(target), steps, optimizer, lr):
        break  # leaving the loop ends the optimisation: one step was taken, no more
    moved = image.detach().clone()
    assert not torch.equal(moved, before)
    for _ in optimise(image, Quadratic(target), 0, optimizer, lr):
        pytest.fail("zero steps take none")
    assert torch.equal(image.detach(), moved)
