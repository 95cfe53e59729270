"""Notebook 12's checks take right answers and refuse plausible wrong ones: the library's own transform, and near
misses (a whitening that is not the symmetric one, colouring without the means, a covariance not centred)."""

import math
import types

import pytest
import torch

import stylekit
from stylekit.course import lesson12
from stylekit.universal import whiten_colour
from stylekit.universal.decoder import shipped_decoders
from stylekit.universal.whiten import EPSILON, _transform, statistics


def covariance(F):
    centred = F - F.mean(1, keepdim=True)
    return centred @ centred.T / F.shape[1]


def whiten(F):  # the notebook's solution
    values, vectors = torch.linalg.eigh(covariance(F))
    values = values.clamp_min(EPSILON * values.mean())
    return vectors @ torch.diag(values.rsqrt()) @ vectors.T @ (F - F.mean(1, keepdim=True))


def colour(W, style):
    values, vectors = torch.linalg.eigh(covariance(style))
    return vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T @ W + style.mean(1, keepdim=True)


def test_the_solutions_pass(capsys):
    assert lesson12.check_whiten(whiten) is whiten
    assert lesson12.check_colour(colour) is colour
    assert "Right." in capsys.readouterr().out


def whiten_by_the_library(F):  # colouring with a "style" whose means are 0 and covariance I: whitening alone
    n = F.shape[0]
    identity = math.sqrt(n) * torch.cat([torch.eye(n), -torch.eye(n)], 1).to(F)
    return whiten_colour(F[None, :, :, None], identity[None, :, :, None])[0, :, :, 0]


def whiten_by_the_library_parts(F):
    n = F.shape[0]
    return _transform(F, statistics(F), (torch.zeros(n, dtype=F.dtype), torch.eye(n, dtype=F.dtype)))


def whiten_cholesky(F):  # white too, but L⁻¹ is not symmetric: it moves the features more than ZCA
    L = torch.linalg.cholesky(covariance(F) + 1e-12 * torch.eye(F.shape[0], dtype=F.dtype))
    return torch.linalg.solve_triangular(L, F - F.mean(1, keepdim=True), upper=False)


def whiten_pca(F):  # D^(-1/2) Eᵀ: white, but rotated onto the eigenvectors
    values, vectors = torch.linalg.eigh(covariance(F))
    values = values.clamp_min(EPSILON * values.mean())
    return torch.diag(values.rsqrt()) @ vectors.T @ (F - F.mean(1, keepdim=True))


def whiten_uncentred_covariance(F):  # the Gram matrix F Fᵀ / M in place of the covariance
    values, vectors = torch.linalg.eigh(F @ F.T / F.shape[1])
    values = values.clamp_min(EPSILON * values.mean())
    return vectors @ torch.diag(values.rsqrt()) @ vectors.T @ (F - F.mean(1, keepdim=True))


def whiten_means_kept(F):
    values, vectors = torch.linalg.eigh(covariance(F))
    values = values.clamp_min(EPSILON * values.mean())
    return vectors @ torch.diag(values.rsqrt()) @ vectors.T @ F


def whiten_unbiased(F):  # torch.cov divides by M − 1
    values, vectors = torch.linalg.eigh(torch.cov(F))
    values = values.clamp_min(EPSILON * values.mean())
    return vectors @ torch.diag(values.rsqrt()) @ vectors.T @ (F - F.mean(1, keepdim=True))


def whiten_unclamped(F):  # directions that do not vary are divided by about zero
    values, vectors = torch.linalg.eigh(covariance(F))
    return vectors @ torch.diag(values.rsqrt()) @ vectors.T @ (F - F.mean(1, keepdim=True))


def whiten_by_the_lessons_reference(F):
    return lesson12._whiten(F)


def whiten_float32(F):
    return whiten(F.float())


def pass_through(F, *rest):
    return F


@pytest.mark.parametrize(
    "wrong",
    [
        whiten_by_the_library,
        whiten_by_the_library_parts,
        whiten_cholesky,
        whiten_pca,
        whiten_uncentred_covariance,
        whiten_means_kept,
        whiten_unbiased,
        whiten_unclamped,
        whiten_by_the_lessons_reference,
        whiten_float32,
        pass_through,
    ],
)
def test_check_whiten_refuses(wrong):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson12.check_whiten(wrong)


def colour_by_the_library(W, style):  # W is white already: whiten_colour's whitening leaves it as it is
    return whiten_colour(W[None, :, :, None], style[None, :, :, None])[0, :, :, 0]


def colour_by_sqrtm(W, style):
    return stylekit.colour.sqrtm(covariance(style)) @ W + style.mean(1, keepdim=True)


def colour_by_the_lessons_reference(W, style):
    return lesson12._colour(W, style)


def colour_without_the_means(W, style):
    values, vectors = torch.linalg.eigh(covariance(style))
    return vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T @ W


def colour_uncentred_covariance(W, style):  # the square root of the Gram matrix: the means counted twice
    values, vectors = torch.linalg.eigh(style @ style.T / style.shape[1])
    return vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T @ W + style.mean(1, keepdim=True)


def colour_cholesky(W, style):  # the style's covariance, but not by its symmetric square root
    n = style.shape[0]
    L = torch.linalg.cholesky(covariance(style) + 1e-9 * torch.eye(n, dtype=style.dtype))
    return L @ W + style.mean(1, keepdim=True)


def colour_unclamped(W, style):  # a rounding below zero gives nan
    values, vectors = torch.linalg.eigh(covariance(style))
    return vectors @ torch.diag(values.sqrt()) @ vectors.T @ W + style.mean(1, keepdim=True)


@pytest.mark.parametrize(
    "wrong",
    [
        colour_by_the_library,
        colour_by_sqrtm,
        colour_by_the_lessons_reference,
        colour_without_the_means,
        colour_uncentred_covariance,
        colour_cholesky,
        colour_unclamped,
        pass_through,
    ],
)
def test_check_colour_refuses(wrong):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson12.check_colour(wrong)


def test_a_blank_piece_hands_the_lesson_a_working_one_and_says_so(capsys):
    def whiten(F):
        raise NotImplementedError("your code here")

    def colour(W, style):
        raise NotImplementedError("your code here")

    whiten, colour = lesson12.check_whiten(whiten), lesson12.check_colour(colour)
    assert capsys.readouterr().out.count("Not done yet") == 2
    F, style = torch.randn(4, 30, dtype=torch.float64) + 2, torch.randn(4, 20, dtype=torch.float64) * 3 + 1
    coloured = colour(whiten(F), style)
    assert "stylekit's here" in capsys.readouterr().out
    want = whiten_colour(F[None, :, :, None], style[None, :, :, None])[0, :, :, 0]
    assert torch.allclose(coloured, want, atol=1e-10)

    def wct(content_features, style_features, strength):  # the exercise, on the pieces stylekit stood in for
        F = flat(content_features)
        coloured = colour(whiten(F), flat(style_features))
        return (strength * coloured + (1 - strength) * F).reshape(content_features.shape)

    assert lesson12.check_2(wct)


def test_a_blank_pieces_stand_in_or_a_copy_of_the_reference_is_refused_as_that_pieces_answer(capsys):
    def whiten(F):
        raise NotImplementedError("your code here")

    def colour(W, style):
        raise NotImplementedError("your code here")

    whitening, colouring = lesson12.check_whiten(whiten), lesson12.check_colour(colour)
    copied = stylekit.course._copy(lesson12._whiten)
    rebuilt = types.FunctionType(lesson12._colour.__code__, vars(lesson12))

    def whiten(F):  # `lib = whiten`, then a "new" whiten that calls it
        return whitening(F)

    def colour(W, style):
        return colouring(W, style)

    def whiten_copied(F):
        return copied(F)

    def colour_rebuilt(W, style):
        return rebuilt(W, style)

    for check, wrong, name in (
        (lesson12.check_whiten, whiten, "whiten"),
        (lesson12.check_colour, colour, "colour"),
        (lesson12.check_whiten, whiten_copied, "_whiten"),
        (lesson12.check_colour, colour_rebuilt, "_colour"),
    ):
        with pytest.raises(AssertionError, match=f"Not yet: `{wrong.__name__}` calls stylekit's {name}"):
            check(wrong)

    def wct(content_features, style_features, strength):  # the stand-ins still serve the exercise
        F = flat(content_features)
        return (strength * colouring(whitening(F), flat(style_features)) + (1 - strength) * F).reshape(
            content_features.shape
        )

    assert lesson12.check_2(wct)


def flat(f):
    return f.flatten(2)[0]


def wct(content_features, style_features, strength):  # the notebook's solution
    F = flat(content_features)
    coloured = colour(whiten(F), flat(style_features))
    return (strength * coloured + (1 - strength) * F).reshape(content_features.shape)


def wct_by_the_library(content_features, style_features, strength):
    return whiten_colour(content_features, style_features, strength)


def wct_blend_reversed(content_features, style_features, strength):
    F = flat(content_features)
    coloured = colour(whiten(F), flat(style_features))
    return ((1 - strength) * coloured + strength * F).reshape(content_features.shape)


def wct_strength_ignored(content_features, style_features, strength):
    return colour(whiten(flat(content_features)), flat(style_features)).reshape(content_features.shape)


def wct_blends_the_whitened(content_features, style_features, strength):
    F = flat(content_features)
    return (strength * whiten(F) + (1 - strength) * F).reshape(content_features.shape)


def wct_flat(content_features, style_features, strength):  # right values, N × M: not the content's shape
    F = flat(content_features)
    return strength * colour(whiten(F), flat(style_features)) + (1 - strength) * F


def test_check_2_takes_the_solution(capsys):
    assert lesson12.check_2(wct)
    assert lesson12.check_2(lambda c, s, a: ...) is False  # the scaffold: not done yet
    assert "Not done yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong", [wct_by_the_library, wct_blend_reversed, wct_strength_ignored, wct_blends_the_whitened, wct_flat]
)
def test_check_2_refuses(wrong):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson12.check_2(wrong)


class FakeVGG:
    """Responses ≥ 0 of several shapes, different for each image: what check_1 reads of VGG, without VGG."""

    def __call__(self, image, levels):
        g = torch.Generator().manual_seed(int(image.sum() * 1000))
        return {level: torch.rand(1, 4 * (i + 1), 9 - i, 7, generator=g) * (i + 1) for i, level in enumerate(levels)}


@pytest.fixture
def fake_vgg(monkeypatch):
    monkeypatch.setattr(lesson12, "cached_vgg", lambda *args: FakeVGG())
    lesson12._mean_shares.cache_clear()  # the check remembers the painting's shares: not the fake's after this
    yield FakeVGG()
    lesson12._mean_shares.cache_clear()


def responses(vgg, name):
    return vgg(stylekit.load_image(stylekit.sample(name), lesson12.SIZE), lesson12.LEVELS)


def shares(responses, centred=False):
    out = {}
    for level, f in responses.items():
        F = flat(f).double()
        mean = F.mean(1)
        gram = covariance(F) if centred else F @ F.T / F.shape[1]
        out[level] = float(mean.square().sum() / gram.trace())
    return out


def test_check_1_takes_the_right_numbers_and_refuses_near_misses(fake_vgg, wrong_prediction):
    painting = responses(fake_vgg, lesson12.PAINTING)
    right = shares(painting)
    larger = "a" if right["relu1_1"] > right["relu5_1"] else "b"
    wrong_prediction(lesson12.check_1, right, "ab".replace(larger, ""))  # the numbers, then the other letter
    assert lesson12.check_1(right, larger)
    wrong = [
        (shares(painting, centred=True), larger),  # ‖μ‖² over the covariance's trace, not the Gram matrix's
        (shares(responses(fake_vgg, lesson12.PHOTO)), larger),  # the photo's
        (dict(reversed(list(right.items()))), larger),  # the levels out of order
        ({k: v for k, v in right.items() if k != "relu5_1"}, larger),
    ]
    for shares_, letter in wrong:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson12.check_1(shares_, letter)


class FakeUniversal:
    """An image per set of levels, as far from every level's as the levels left out weigh: what check_3 reads of
    stylekit.universal, without decoders."""

    def __init__(self, shipped):
        self.weights = {level: 0.1 * (i + 1) for i, level in enumerate(shipped)}

    def __call__(self, photo, painting, size, levels=None):
        left_out = sum(w for level, w in self.weights.items() if levels is not None and level not in levels)
        return types.SimpleNamespace(image=torch.full((1, 3, 6, 8), 0.5 + left_out))


def test_check_3_checks_every_level_asked(monkeypatch, wrong_prediction):
    shipped = shipped_decoders()
    universal = FakeUniversal(shipped)
    monkeypatch.setattr(lesson12.stylize, "universal", universal)
    every = universal(None, None, lesson12.SIZE)
    right = {}
    for level in shipped:
        image = universal(None, None, lesson12.SIZE, levels=[other for other in shipped if other != level]).image
        right[level] = float((image - every.image).abs().mean())
    most = lesson12.LETTERS[shipped.index(max(right, key=right.get))]
    wrong_letter = next(letter for letter in lesson12.LETTERS[: len(shipped)] if letter != most)
    wrong_prediction(lesson12.check_3, right, wrong_letter, every)
    assert lesson12.check_3(right, most, every)
    deepest_only = {k: (v if k == shipped[-1] else 0.5 * v) for k, v in right.items()}  # only the deepest measured
    same = {k: right[shipped[-1]] for k in shipped}  # the deepest's number copied to every level
    for changes in (deepest_only, same):
        with pytest.raises(AssertionError, match="Not yet"):
            lesson12.check_3(changes, most, every)
