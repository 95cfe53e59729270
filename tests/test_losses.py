import numpy as np
import torch

from stylekit import content_loss, gram, style_layer_loss, tv_loss


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
    torch.testing.assert_close(x.grad.reshape(n, m), (analytic * (x.detach().reshape(n, m) > 0)).to(x.grad.dtype),
                               rtol=1e-4, atol=1e-7)
