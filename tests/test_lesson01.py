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


def test_check_3_takes_the_right_answer_and_refuses_near_misses():
    right = {"relu1_1": 3, "relu2_1": 10, "relu3_1": 24, "relu4_1": 68, "relu5_1": 156}
    x = probe()
    assert lesson01.check_3(right, 156, x)
    for other in (probe(position=lesson01.PROBE // 32 - 1), probe(layer="relu4_1"), torch.rand(1, 3, 8, 8)):
        with pytest.raises(AssertionError, match="Not yet"):  # not the gradient asked for, or none at all
            lesson01.check_3(right, 156, other)
    convs_only = {"relu1_1": 3, "relu2_1": 7, "relu3_1": 13, "relu4_1": 21, "relu5_1": 33}  # no grid at all
    no_pool_widening = {"relu1_1": 3, "relu2_1": 9, "relu3_1": 21, "relu4_1": 61, "relu5_1": 141}
    for widths, measured in [
        (convs_only, 156),
        (no_pool_widening, 156),
        (right, 155),  # the last row minus the first, without the first
        (dict(right, relu5_1=141), 141),
        ({k: 156 for k in right}, 156),
    ]:
        with pytest.raises(AssertionError, match="Not yet"):
            lesson01.check_3(widths, measured, x)
