import copy
import dataclasses
import threading
import warnings

import pytest
import torch
from PIL import Image

from stylekit import PRESETS, ImageError, Objective, SettingsError, load_image, read_settings, sample, transfer
from stylekit.device import pick_dtype
from stylekit.judge import judge
from stylekit.losses import TERMS
from stylekit.measure import HostReads
from stylekit.result import sealed
from stylekit.settings import scale_plan
from stylekit.vgg import VGG
from stylekit.weights import cached_vgg

TINY = dict(size=48, progress=False)


@pytest.mark.device
def test_transfer_lowers_loss_and_changes_image(photo, texture, device):
    result = transfer(photo, texture, steps=40, device=device, **TINY)
    total = result.history["total"]
    assert len(total) == 40 and result.stopped is None
    assert total[-1] < 0.2 * total[0]
    assert result.history["style"][-1] < 0.2 * result.history["style"][0]
    content = load_image(photo, 48)
    assert (result.image - content).abs().mean() > 0.02
    assert result.image.min() >= 0 and result.image.max() <= 1


def test_adam_lowers_loss(photo, texture):
    result = transfer(photo, texture, optimizer="adam", lr=0.05, steps=30, **TINY)
    assert result.history["total"][-1] < 0.5 * result.history["total"][0]


def test_same_seed_same_image(photo, texture):
    a, b = (transfer(photo, texture, init="noise", seed=3, steps=5, **TINY) for _ in range(2))
    assert torch.equal(a.image, b.image)
    c = transfer(photo, texture, init="noise", seed=4, steps=5, **TINY)
    assert not torch.equal(a.image, c.image)


def test_seed_preset_runs_the_thesis_settings(photo, texture):
    seed = PRESETS["seed"]
    assert (seed.optimizer, seed.lr, seed.content_weight, seed.style_weight, seed.steps) == ("adam", 0.004, 8, 70, 4000)
    assert list(seed.style_layers) == ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
    result = transfer(photo, texture, "seed", steps=20, progress=False, size=[64, 64])
    assert result.image.shape == (1, 3, 64, 64)
    assert result.history["total"][-1] < result.history["total"][0]


def test_strong_preset_trades_content_for_style():
    """On a real pair at 128 px (32 px at the coarsest of its three scales), in whichever precision `auto` picks
    (the margins: docs/testing.md)."""
    content, style = sample("astronaut"), sample("brushstrokes")
    scores = {
        p: judge(transfer(content, style, p, steps=60, size=128, progress=False).image, content, style)
        for p in ("default", "strong")
    }
    assert scores["strong"]["style"] < 0.75 * scores["default"]["style"]
    assert scores["strong"]["content"] > 1.3 * scores["default"]["content"]


def test_a_result_is_sealed_as_transfer_made_it_and_a_copy_changed_since_is_not(photo, texture):
    """The course's checks tell a run from its record edited by hand: ``transfer`` seals what it returns."""
    result = transfer(photo, texture, steps=2, **TINY)
    assert sealed(result) and sealed(copy.deepcopy(result))
    h = result.history
    edited = [
        dataclasses.replace(result, settings={**result.settings, "tv_weight": 100.0}),  # relabelled
        dataclasses.replace(result, history={**h, "total": h["total"][:-1] + [1e9]}),
        dataclasses.replace(result, image=result.image.flip(-1)),  # another image
        dataclasses.replace(result, stopped="stopped"),
        dataclasses.replace(result),  # a copy made by hand, nothing changed: not what transfer returned either
    ]
    assert not any(sealed(r) for r in edited)
    for change in (
        lambda r: r.settings.update(style_weight=100.0),
        lambda r: r.history["total"].append(0.0),  # a step that never ran
        lambda r: r.image.mul_(0.5),
        lambda r: setattr(r, "settings", {**r.settings, "size": 64}),
    ):
        mutated = copy.deepcopy(result)
        change(mutated)
        assert not sealed(mutated)
    assert not sealed(None) and not sealed(object())


def test_content_reconstruction_from_noise_without_style(photo):
    result = transfer(photo, None, init="noise", style_layers={}, content_layers={"relu2_2": 1}, steps=30, **TINY)
    assert result.history["content"][-1] < 0.1 * result.history["content"][0]


def test_stop_event_ends_after_current_step_and_keeps_image(photo, texture):
    stop = threading.Event()
    seen = []

    def callback(step, losses, image):
        seen.append((step, image.cpu().clone()))
        if step == 3:
            stop.set()

    result = transfer(photo, texture, steps=100, callback=callback, callback_every=1, stop=stop, **TINY)
    assert result.stopped == "stopped" and result.steps_done == 3 and [step for step, _ in seen] == [1, 2, 3]
    assert torch.equal(result.image, seen[-1][1])  # the image after step 3, not the start or a later one
    assert not torch.equal(seen[-1][1], seen[-2][1])


def test_ctrl_c_keeps_latest_image(photo, texture):
    def callback(step, losses, image):
        if step == 4:
            raise KeyboardInterrupt

    result = transfer(photo, texture, steps=100, callback=callback, callback_every=1, **TINY)
    assert result.stopped == "interrupted" and result.steps_done == 4


def test_snapshots_every_k_steps(photo, texture, tmp_path):
    template = tmp_path / "snap_{step:03d}.png"
    result = transfer(photo, texture, steps=6, save_every=3, snapshot_path=template, **TINY)
    assert sorted(result.snapshots) == [3, 6]
    assert sorted(p.name for p in tmp_path.glob("snap_*")) == ["snap_003.png", "snap_006.png"]
    assert read_settings(tmp_path / "snap_006.png")["steps"] == 6


def test_result_saves_reproducible_settings(photo, texture, tmp_path):
    result = transfer(photo, texture, steps=3, style_weight=123.0, **TINY)
    saved = read_settings(result.save(tmp_path / "out.png"))
    assert saved["style_weight"] == 123.0 and saved["content"] == str(photo) and saved["steps"] == 3
    again = transfer(saved.pop("content"), saved.pop("style"), progress=False, **saved)
    assert torch.allclose(again.image, result.image, atol=1 / 255)


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(style_weight=float("nan")), "style_weight must be a finite number"),
        (dict(content_weight=-1.0), "content_weight must be a finite number >= 0"),
        (dict(steps=0), "steps must be an integer >= 1"),
        (dict(style_layers={"relu9_9": 1}), "unknown layer 'relu9_9' for vgg19; valid layers: conv1_1, relu1_1"),
        (dict(optimizer="sgd"), "optimizer must be one of lbfgs, adam"),
        (dict(lbfgs_history=0), "lbfgs_history must be an integer >= 1"),
        (dict(early_stop=2), "early_stop is a fraction of the loss, below 1"),
        (dict(colour=1), "unknown setting"),
    ],
)
def test_bad_settings_are_named(photo, texture, bad, message):
    with pytest.raises(SettingsError, match=message):
        transfer(photo, texture, **TINY, **bad)


def test_image_too_small_names_the_minimum(photo, texture):
    with pytest.raises(ImageError, match="relu5_1 needs at least 16 px per side"):
        transfer(photo, texture, size=12, progress=False)


@pytest.mark.parametrize("source", [torch.rand(1, 3, 1, 1), Image.new("RGB", (200, 15))])
def test_images_under_16_px_are_refused_with_the_reason(texture, source):
    with pytest.raises(ImageError, match=r"images need at least 16 px on their shorter side, or VGG's deeper"):
        transfer(source, texture, **TINY)


def test_enlarging_more_than_4x_is_warned(photo, texture):
    with pytest.warns(UserWarning, match=r"the content image is only 64×48 px: enlarged more than 4×"):
        transfer(photo, sample("brushstrokes"), size=320, steps=1, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        transfer(photo, texture, size=256, steps=1, progress=False)  # exactly 4×: no warning


def test_style_reconstruction_from_noise_without_content(texture):
    result = transfer(
        None, texture, init="noise", content_layers={}, style_layers={"conv1_1": 1, "conv2_1": 1}, steps=30, **TINY
    )
    assert result.image.shape == (1, 3, 48, 48)
    assert result.history["style"][-1] < 0.1 * result.history["style"][0]


def test_coarse_to_fine_starts_small_and_ends_at_full_size(photo, texture):
    shapes = []
    result = transfer(
        photo,
        texture,
        scales=2,
        steps=6,
        callback=lambda step, losses, image: shapes.append(tuple(image.shape[-2:])),
        callback_every=1,
        **TINY,
    )
    assert shapes == [(18, 24)] * 3 + [(36, 48)] * 3
    assert result.image.shape[-2:] == (36, 48) and result.steps_done == 6
    with pytest.raises(SettingsError, match="scales must be 'auto' or an integer from 1 to steps"):
        transfer(photo, texture, scales=5, steps=3, **TINY)


def test_auto_scales_start_at_most_512_px_and_split_the_steps():
    assert scale_plan(512, 100, "auto") == [(512, 100)]
    assert scale_plan(513, 100, "auto") == [(256, 50), (513, 50)]
    assert scale_plan(2048, 100, "auto") == [(512, 33), (1024, 33), (2048, 34)]
    assert scale_plan([1536, 1024], 100, "auto") == [([384, 256], 33), ([768, 512], 33), ([1536, 1024], 34)]
    assert scale_plan(4096, 2, "auto") == [(2048, 1), (4096, 1)]  # never more scales than steps


def test_steps_per_scale_and_their_cost_in_full_size_passes(photo, texture):
    shapes = []
    result = transfer(photo, texture, steps=[4, 2], callback=lambda step, losses, image: shapes.append(
        tuple(image.shape[-2:])), callback_every=1, **TINY)  # fmt: skip
    assert shapes == [(18, 24)] * 4 + [(36, 48)] * 2 and result.steps_done == 6
    # A quarter of the pixels costs a quarter of a pass: 4 × 1/4 + 2 × 1.
    assert result.history["passes"] == pytest.approx([0.25, 0.5, 0.75, 1.0, 2.0, 3.0]) and result.passes == 3.0
    assert scale_plan(512, [60, 30, 12], "auto") == [(128, 60), (256, 30), (512, 12)]
    with pytest.raises(SettingsError, match=r"steps \[4, 2\] name 2 scales but scales is 3"):
        transfer(photo, texture, steps=[4, 2], scales=3, **TINY)
    with pytest.raises(SettingsError, match="steps must be an integer >= 1"):
        transfer(photo, texture, steps=[4, 0], **TINY)


def test_the_default_preset_costs_at_most_25_full_size_passes():
    plan = scale_plan(512, PRESETS["default"].steps, PRESETS["default"].scales)
    assert plan[-1][0] == 512 and len(plan) > 1
    assert sum(steps * (size / 512) ** 2 for size, steps in plan) <= 25


def test_a_coarse_scale_too_small_for_the_network_passes_its_steps_on(photo, texture):
    shapes = []
    result = transfer(photo, texture, steps=[3, 2, 1], callback_every=1, **TINY,
                      callback=lambda step, losses, image: shapes.append(tuple(image.shape[-2:])))  # fmt: skip
    assert shapes == [(18, 24)] * 5 + [(36, 48)]  # 9×12 px is under relu5_1's 16: its 3 steps ran at 18×24
    assert result.passes == pytest.approx(5 / 4 + 1)


def test_early_stop_ends_a_scale_whose_loss_stopped_falling(photo, texture):
    full = transfer(photo, texture, steps=[30, 30], **TINY)
    shapes = []
    early = transfer(photo, texture, steps=[30, 30], early_stop=0.15, callback_every=1, **TINY,
                     callback=lambda step, losses, image: shapes.append(tuple(image.shape[-2:])))  # fmt: skip
    coarse = shapes.count((18, 24))
    assert full.steps_done == 60 and 6 <= coarse < 30 and shapes[-1] == (36, 48)  # the fine scale still ran
    totals = early.history["total"][:coarse]
    assert totals[-1] > 0.85 * totals[-6]  # it ended because its last 5 steps gained less than 15%
    assert early.passes < full.passes


def lbfgs_reads(steps, history):
    """What torch.optim.LBFGS (max_iter=1) reads per step, measured (torch 2.x): its first step 5 values (the loss,
    whether the gradient vanished, the first step length twice, the directional derivative), then 4 and 2 per
    remembered step (the two-loop recursion passes each coefficient as a Python number)."""
    return 5 + sum(4 + 2 * min(step - 1, history) for step in range(2, steps + 1))


def test_a_run_reads_its_losses_only_on_callback_steps_and_at_the_end(photo, texture):
    """On a GPU every read of a tensor's value waits for the kernels queued before it."""
    with HostReads() as reads:
        result = transfer(photo, texture, steps=14, scales=1, lbfgs_history=3, callback_every=5, **TINY)
    assert result.steps_done == 14 and 0 < reads.by["lbfgs"] <= lbfgs_reads(14, 3)
    # Steps 5, 10 and 14 (the last) read all their terms at once; the history is read at the end, a list per term.
    assert {k: n for k, n in reads.by.items() if k != "lbfgs"} == {"steps": 3 + len(TERMS)}
    with HostReads() as reads:
        result = transfer(photo, texture, steps=8, scales=1, early_stop=0.01, callback_every=100, **TINY)
    # early_stop reads the total every step, so that a scale ends at the step its loss stalls, not a window later.
    assert reads.by["transfer"] == result.steps_done == 8 and reads.by["steps"] == 1 + len(TERMS)


def test_tensor_inputs_are_resized_like_files(photo, texture):
    content = load_image(photo)  # 64×48
    result = transfer(content, load_image(texture), steps=2, **TINY)
    assert result.image.shape[-2:] == (36, 48)


def test_lbfgs_history_reaches_the_optimiser(photo, texture):
    short, long = (transfer(photo, texture, steps=6, lbfgs_history=h, **TINY) for h in (1, 100))
    assert (short.image - long.image).abs().max() > 1e-3


def test_precision_auto_uses_bf16_only_on_gpus_that_have_it_natively(monkeypatch):
    """Colab's T4 (compute capability 7.5) reports bf16 support, by emulation; an A100 (8.0) has it."""
    monkeypatch.delenv("STYLEKIT_PRECISION")  # the suite pins auto to fp32
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    for capability, expected in (((7, 5), torch.float32), ((8, 0), torch.bfloat16), ((9, 0), torch.bfloat16)):
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None, c=capability: c)
        assert pick_dtype("auto", "cuda") == expected, capability
    assert pick_dtype("bf16", "cuda") == torch.bfloat16  # asked for explicitly: given


def test_precision_auto_uses_bf16_only_where_the_cpu_has_it(monkeypatch):
    monkeypatch.delenv("STYLEKIT_PRECISION")
    for flag in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        monkeypatch.setattr(torch.cpu, flag, lambda: False, raising=False)
    assert pick_dtype("auto", "cpu") == torch.float32
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True, raising=False)
    assert pick_dtype("auto", "cpu") == torch.bfloat16
    assert pick_dtype("fp32", "cpu") == torch.float32 and pick_dtype("bf16", "cpu") == torch.bfloat16


@pytest.mark.device
def test_bf16_network_gives_the_fp32_loss_and_gradient(photo, texture, device):
    s = PRESETS["default"]
    content, style = load_image(photo).to(device), load_image(texture).to(device)
    start = 0.8 * content + 0.1 * torch.rand(content.shape, generator=torch.Generator().manual_seed(0)).to(device)
    results = {}
    for dtype in (torch.float32, torch.bfloat16):
        model = cached_vgg(s.model, s.weights, s.pooling, device, dtype)
        objective = Objective.for_settings(model, content, style, s)
        image = start.clone().requires_grad_(True)
        terms = objective(image)
        terms["total"].backward()
        assert terms["total"].dtype == torch.float32  # Gram matrices and losses stay fp32
        results[dtype] = terms["total"].item(), image.grad.flatten().cpu()
    (loss32, grad32), (loss16, grad16) = results.values()
    assert abs(loss16 - loss32) < 0.02 * loss32
    assert torch.nn.functional.cosine_similarity(grad32, grad16, dim=0) > 0.98


def test_init_from_a_file_starts_there(photo, texture, tmp_path):
    start = tmp_path / "start.png"
    Image.new("RGB", (32, 16), (20, 200, 90)).save(start)  # another shape: resized to the content's
    result = transfer(photo, texture, init=str(start), optimizer="adam", lr=1e-6, steps=1, **TINY)
    assert result.image.shape == (1, 3, 36, 48)
    green = torch.tensor([20, 200, 90]).view(1, 3, 1, 1) / 255
    assert (result.image - green).abs().max() < 0.01  # one step of 1e-6 from the green start
    assert (load_image(photo, 48) - green).abs().mean() > 0.2


def test_a_loss_that_is_no_longer_finite_is_named(photo, texture):
    with pytest.raises(SettingsError, match=r"the loss became (nan|inf) at step \d; lower lr"):
        transfer(photo, texture, optimizer="adam", lr=1e30, steps=5, callback_every=1, **TINY)


def test_vgg16_transfer_from_a_checkpoint(photo, texture, tmp_path):
    """VGG16 the way a user without the torchvision download runs it: its weights from a file (random here)."""
    torch.manual_seed(0)
    checkpoint = tmp_path / "vgg16.pth"
    torch.save(VGG("vgg16").features.state_dict(), checkpoint)
    result = transfer(photo, texture, model="vgg16", weights=str(checkpoint), steps=20, **TINY)
    assert result.settings["model"] == "vgg16" and result.history["style"][-1] < 0.5 * result.history["style"][0]
    assert (result.image - load_image(photo, 48)).abs().mean() > 0.01
