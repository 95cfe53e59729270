"""Notebook 11's checks refuse plausible wrong answers: stylekit's own Gram sums, and near misses."""

import pytest
import torch

import stylekit
from stylekit.course import lesson11
from stylekit.losses import gram_of_sums, gram_sums


def products_and_counts(responses):
    flat = [f.flatten(2)[0] for f in responses]
    return [F @ F.T for F in flat], [F.shape[1] for F in flat]


def right_tiled_gram(responses):
    products, counts = products_and_counts(responses)
    return sum(products) / sum(counts)


def concatenated_gram(responses):  # every core's positions side by side: also the whole image's Gram matrix
    F = torch.cat([f.flatten(2)[0] for f in responses], 1)
    return F @ F.T / F.shape[1]


def borrowed_gram_sums(responses):
    sums = [gram_sums(f) for f in responses]
    return gram_of_sums(sum(p for p, _ in sums), sum(m for _, m in sums))[0]


def borrowed_weighted_grams(responses):  # right in arithmetic, but stylekit's gram does the work
    counts = [f.shape[-2] * f.shape[-1] for f in responses]
    return sum(stylekit.gram(f).double() * m for f, m in zip(responses, counts)) / sum(counts)


def mean_of_tiles_grams(responses):  # each tile's own Gram matrix, averaged: unequal tiles weigh the same
    products, counts = products_and_counts(responses)
    return sum(p / m for p, m in zip(products, counts)) / len(responses)


def sum_of_tiles_grams(responses):
    products, counts = products_and_counts(responses)
    return sum(p / m for p, m in zip(products, counts))


def products_over_tiles(responses):  # divided by the number of tiles, not of positions
    products, _ = products_and_counts(responses)
    return sum(products) / len(responses)


def unnormalised_products(responses):
    products, _ = products_and_counts(responses)
    return sum(products)


def products_over_largest_tile(responses):  # M taken from one tile
    products, counts = products_and_counts(responses)
    return sum(products) / max(counts)


@pytest.mark.parametrize("right", [right_tiled_gram, concatenated_gram])
def test_check_tiled_gram_takes_right_answers(right, capsys):
    assert lesson11.check_tiled_gram(right) is right
    assert "Right." in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong",
    [
        borrowed_gram_sums,
        borrowed_weighted_grams,
        mean_of_tiles_grams,
        sum_of_tiles_grams,
        products_over_tiles,
        unnormalised_products,
        products_over_largest_tile,
    ],
)
def test_check_tiled_gram_refuses(wrong):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson11.check_tiled_gram(wrong)


def test_check_tiled_gram_says_when_tiles_are_averaged():
    with pytest.raises(AssertionError, match="averages the tiles' Gram matrices"):
        lesson11.check_tiled_gram(mean_of_tiles_grams)


def test_a_blank_piece_hands_the_lesson_stylekits_version_and_says_so(capsys):
    def tiled_gram(responses):
        raise NotImplementedError("your code here")

    fallback = lesson11.check_tiled_gram(tiled_gram)
    assert "Not done yet" in capsys.readouterr().out
    f = torch.randn(1, 4, 6, 5)
    assert torch.allclose(fallback([f[..., :2, :], f[..., 2:, :]]), stylekit.gram(f), atol=1e-6)
    assert "stylekit's here" in capsys.readouterr().out


# The exercises: the right numbers from the checks' own cached runs (the solution notebook checks them against its
# own computation), and near misses of them.


@pytest.fixture(scope="module")
def vgg():
    return lesson11._network()


@pytest.fixture(scope="module")
def photo():
    return lesson11._photo()


def test_check_1_takes_the_differences_and_refuses_near_misses_and_guesses():
    right = dict(lesson11._core_differences())
    needed = next(m for m, d in right.items() if d < 1e-4)
    assert lesson11.check_1(right, needed)
    reach = dict.fromkeys(lesson11.MARGINS, 0.0)  # "the reach says 80": no margin measured
    wrong = [(right, m) for m in lesson11.MARGINS if m != needed]  # the numbers right, a guessed margin
    wrong += [(reach, 80 if needed != 80 else 96), ({m: 2 * d for m, d in right.items()}, needed)]
    wrong += [({m: d for m, d in right.items() if m}, needed)]  # a margin left out
    for differences, guess in wrong:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson11.check_1(differences, guess)


def relative_spreads(grams, whole):
    return [float(torch.linalg.matrix_norm(g - whole) / torch.linalg.matrix_norm(whole)) for g in grams]


def test_check_2_takes_the_spread_and_refuses_near_misses(vgg, photo):
    whole, cores = lesson11._layer("relu3_1")
    whole = stylekit.gram(whole)
    right = relative_spreads([stylekit.gram(f) for f in cores], whole)
    assert lesson11.check_2(max(right))
    with torch.no_grad():  # each tile's whole crop, its halo's features included
        crops = [stylekit.gram(vgg(t.pixels(photo), ["relu3_1"])["relu3_1"]) for t in lesson11._tiles(photo)]
    for wrong in [sum(right) / len(right), min(right), max(relative_spreads(crops, whole))]:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson11.check_2(wrong)


def test_check_3_takes_the_rank_error_and_refuses_near_misses(vgg, photo):
    whole, cores = lesson11._layer("conv3_1")
    tiles = lesson11._tiles(photo)
    with torch.no_grad():  # the checked tile's whole crop, its halo's values kept
        crop = vgg(tiles[len(tiles) // 2].pixels(photo), ["conv3_1"])["conv3_1"][0, 0].flatten().contiguous()
    whole, core = whole[0, 0].flatten(), cores[len(cores) // 2][0, 0].flatten().contiguous()

    def fractions(values, among):
        return torch.searchsorted(among.sort().values, values).float() / (len(among) - 1)

    assert lesson11.check_3(float((fractions(core, core) - fractions(core, whole)).abs().max()))
    first = cores[0][0, 0].flatten().contiguous()  # the first tile, not the checked one
    for values, local, overall in [(crop, crop, whole), (core, core, crop), (first, first, whole)]:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson11.check_3(float((fractions(values, local) - fractions(values, overall)).abs().max()))
