"""Notebook 1's checks refuse plausible wrong answers: the library's own pass, and near misses."""

import pytest
import torch

import stylekit
from stylekit.course import lesson01


def features(vgg, image, names):
    order = stylekit.LAYERS[vgg.arch]
    last = max(order.index(name) for name in names)
    x, out = vgg.preprocess(image), {}
    for name, layer in zip(order[: last + 1], vgg.features):
        x = layer(x)
        if name in names:
            out[name] = x.clone()
    return out


def test_check_features_takes_a_right_answer(capsys):
    assert lesson01.check_features(features) is features
    assert "Right" in capsys.readouterr().out


def borrowed(vgg, image, names):
    return vgg(image, names)


def borrowed_forward(vgg, image, names):
    return stylekit.vgg.VGG.forward(vgg, image, names)


def kept_before_an_inplace_relu(vgg, image, names):  # no copy: torchvision's ReLU overwrites a kept conv output
    order = stylekit.LAYERS[vgg.arch]
    last = max(order.index(name) for name in names)
    x, out = vgg.preprocess(image), {}
    for name, layer in zip(order[: last + 1], vgg.features):
        x = layer(x)
        if name in names:
            out[name] = x
    return out


def not_preprocessed(vgg, image, names):
    order = stylekit.LAYERS[vgg.arch]
    x, out = image, {}
    for name, layer in zip(order, vgg.features):
        x = layer(x)
        if name in names:
            out[name] = x.clone()
        if len(out) == len(names):
            return out


def one_layer_early(vgg, image, names):  # the input of the named layer, not its output
    order = stylekit.LAYERS[vgg.arch]
    x, out = vgg.preprocess(image), {}
    for name, layer in zip(order, vgg.features):
        if name in names:
            out[name] = x.clone()
        if len(out) == len(names):
            return out
        x = layer(x)


def the_whole_network(vgg, image, names):  # right responses, but it never stops
    order = stylekit.LAYERS[vgg.arch]
    x, out = vgg.preprocess(image), {}
    for name, layer in zip(order, vgg.features):
        x = layer(x)
        if name in names:
            out[name] = x.clone()
    return out


def vgg19_names_always(vgg, image, names):  # VGG19's names on any network
    order = stylekit.LAYERS["vgg19"]
    x, out = vgg.preprocess(image), {}
    for name, layer in zip(order, vgg.features):
        x = layer(x)
        if name in names:
            out[name] = x.clone()
        if len(out) == len(names):
            break
    return out


def stops_at_the_last_name_listed(vgg, image, names):  # the last name given, not the deepest
    order = stylekit.LAYERS[vgg.arch]
    x, out = vgg.preprocess(image), {}
    for name, layer in zip(order, vgg.features):
        x = layer(x)
        if name in names:
            out[name] = x.clone()
        if name == names[-1]:
            return out


def every_layer(vgg, image, names):  # all layers up to the deepest, not only those asked
    order = stylekit.LAYERS[vgg.arch]
    last = max(order.index(name) for name in names)
    x, out = vgg.preprocess(image), {}
    for name, layer in zip(order[: last + 1], vgg.features):
        x = layer(x)
        out[name] = x.clone()
    return out


@pytest.mark.parametrize(
    "wrong",
    [
        borrowed,
        borrowed_forward,
        kept_before_an_inplace_relu,
        not_preprocessed,
        one_layer_early,
        the_whole_network,
        vgg19_names_always,
        stops_at_the_last_name_listed,
        every_layer,
    ],
)
def test_check_features_refuses(wrong):
    with pytest.raises(AssertionError, match="Not yet"):
        lesson01.check_features(wrong)


def test_a_refused_pass_through_leaves_vgg_working():
    with pytest.raises(AssertionError, match=r"VGG\.forward"):
        lesson01.check_features(borrowed)
    vgg = stylekit.vgg.VGG("vgg16")
    assert set(vgg(torch.rand(1, 3, 16, 16), ["relu1_1"])) == {"relu1_1"}


def test_a_blank_piece_hands_the_lesson_stylekits_pass_and_says_so(capsys):
    def features(vgg, image, names):
        raise NotImplementedError("your code here")

    fallback = lesson01.check_features(features)
    assert "Not done yet" in capsys.readouterr().out
    vgg, image = stylekit.vgg.VGG("vgg16"), torch.rand(1, 3, 16, 16)
    assert torch.equal(fallback(vgg, image, ["conv1_2"])["conv1_2"], vgg(image, ["conv1_2"])["conv1_2"])
    assert "stylekit's here" in capsys.readouterr().out


def coffee(size):
    return stylekit.load_image(stylekit.sample("coffee"), size)


def test_check_1_takes_the_right_answer_and_refuses_near_misses():
    squeezed, kept = coffee((300, 300)), coffee(300)
    h, w = kept.shape[-2:]
    right = (300 / w) / (300 / h)
    assert lesson01.check_1(squeezed, kept, right)
    for wrong in [
        (squeezed, kept, 1 / right),  # heights over widths
        (squeezed, kept, 1.0),
        (kept, squeezed, right),  # the two swapped
        (coffee((300, 200)), kept, right),  # not the square
        (squeezed, coffee(256), right),  # another longest side
    ]:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson01.check_1(*wrong)


@pytest.fixture(scope="module")
def original():
    return stylekit.load_vgg("vgg19", "original")


def test_check_2_takes_the_right_answer_and_refuses_near_misses(original):
    photo = stylekit.load_image(stylekit.sample("chelsea"), lesson01.SIZE)
    with torch.no_grad():
        pair = original(photo, ["conv3_1", "relu3_1"])
        deeper = original(photo, ["conv3_2", "relu3_2"])
        smaller = original(stylekit.load_image(stylekit.sample("chelsea"), lesson01.SIZE // 2), list(pair))
    removed = float((pair["relu3_1"] == 0).float().mean())
    assert lesson01.check_2(pair, removed)
    overwritten = {"conv3_1": pair["relu3_1"], "relu3_1": pair["relu3_1"]}  # a conv output an in-place ReLU changed
    for wrong in [
        (pair, 1 - removed),  # the share kept
        (pair, float((pair["relu3_1"] == 0).float().sum())),  # a count, not a share
        ({"conv3_1": deeper["conv3_2"], "relu3_1": deeper["relu3_2"]}, float((deeper["relu3_2"] == 0).float().mean())),
        (smaller, float((smaller["relu3_1"] == 0).float().mean())),  # the photo at another size
        (overwritten, removed),
    ]:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson01.check_2(*wrong)


def probe(layer="relu5_1", position=lesson01.PROBE // 32):
    """Exercise 3's probe with its gradient: ``layer``'s channels at (``position``, ``position``), summed."""
    x = torch.rand(1, 3, lesson01.PROBE, lesson01.PROBE, requires_grad=True)
    stylekit.load_vgg("vgg19", "original")(x, [layer])[layer][0, :, position, position].sum().backward()
    return x


def width(layers, name):  # the worked solution
    size, grid = 1, 1
    for layer in layers[: layers.index(name) + 1]:
        if layer.startswith("conv"):
            size += 2 * grid
        elif layer.startswith("pool"):
            size, grid = size + grid, 2 * grid
    return size


def convs_only(layers, name):  # no grid at all: every convolution widens by 2
    return 1 + 2 * sum(n.startswith("conv") for n in layers[: layers.index(name) + 1])


def no_pool_widening(layers, name):  # the pooling doubles the grid but does not widen the square
    size, grid = 1, 1
    for layer in layers[: layers.index(name) + 1]:
        if layer.startswith("conv"):
            size += 2 * grid
        elif layer.startswith("pool"):
            grid *= 2
    return size


def pool_widens_after_doubling(layers, name):  # the pooling's step taken on the doubled grid
    size, grid = 1, 1
    for layer in layers[: layers.index(name) + 1]:
        if layer.startswith("conv"):
            size += 2 * grid
        elif layer.startswith("pool"):
            grid *= 2
            size += grid
    return size


def by_the_library(layers, name):  # stylekit's own arithmetic, for the network it recognises
    arch = "vgg19" if layers == stylekit.LAYERS["vgg19"] else "vgg16"
    return 2 ** stylekit.vgg.pools_before(arch, name) + 2 * stylekit.vgg.reach(arch, name)


TABLE = {arch: {n: 2 ** stylekit.vgg.pools_before(arch, n) + 2 * stylekit.vgg.reach(arch, n) for n in names}
         for arch, names in stylekit.LAYERS.items()}  # fmt: skip


def from_a_table(layers, name):  # VGG's widths worked out by the library beforehand: other networks are not there
    return next((TABLE[arch][name] for arch in TABLE if layers == stylekit.LAYERS[arch]), 0)


def by_the_lessons_reference(layers, name):
    return lesson01._width(layers, name)


def test_check_3_takes_the_right_answer_and_refuses_near_misses(capsys):
    assert [width(stylekit.LAYERS["vgg19"], f"relu{b}_1") for b in range(1, 6)] == [3, 10, 24, 68, 156]
    x = probe()
    assert lesson01.check_3(width, 156, x)
    for other in (probe(position=lesson01.PROBE // 32 - 1), probe(layer="relu4_1"), torch.rand(1, 3, 8, 8)):
        with pytest.raises(AssertionError, match="Not yet"):  # not the gradient asked for, or none at all
            lesson01.check_3(width, 156, other)
    for wrong, measured in [
        (convs_only, 156),
        (no_pool_widening, 156),
        (pool_widens_after_doubling, 156),
        (width, 155),  # the last row minus the first, without the first
        (lambda layers, name: 156, 156),
        (from_a_table, 156),
    ]:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson01.check_3(wrong, measured, x)
    for borrowed in (by_the_library, by_the_lessons_reference):
        with pytest.raises(AssertionError, match="Not yet: `width` calls stylekit's"):
            lesson01.check_3(borrowed, 156, x)
    capsys.readouterr()

    def blank(layers, name):
        raise NotImplementedError("your code here")

    assert lesson01.check_3(blank, 156, x) is False
    assert "Not done yet" in capsys.readouterr().out
