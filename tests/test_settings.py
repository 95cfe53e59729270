import pytest

from stylekit import PRESETS, SettingsError

DEFAULT = PRESETS["default"]


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(pooling="min"), "pooling must be one of max, avg, not 'min'"),
        (dict(precision="fp16"), "precision must be one of auto, fp32, bf16"),
        (dict(relative_losses="yes"), "relative_losses must be true or false, not 'yes'"),
        (dict(tv_weight=float("inf")), "tv_weight must be a finite number >= 0"),
        (dict(lr=0), "lr must be positive"),
        (dict(style_scale=-1.0), "style_scale must be a finite number >= 0"),
        (dict(content_layers={"relu4_2": float("nan")}), "weight of relu4_2 must be a finite number"),
        (dict(content_layers={}, style_layers={}), "no content and no style layers: nothing to optimise"),
        (dict(style_blend=[0.5, -0.5]), "each style_blend weight must be a finite number >= 0"),
        (dict(style_blend=[0, 0]), "style_blend weights are all zero"),
        (dict(steps=[3, 0]), "steps must be an integer >= 1"),
        (dict(steps=True), "steps must be an integer >= 1"),
        (dict(lbfgs_history=0), "lbfgs_history must be an integer >= 1"),
        (dict(save_every=-1), "save_every must be an integer >= 0"),
        (dict(early_stop=1.0), "early_stop is a fraction of the loss, below 1"),
        (dict(steps=[3, 3], scales=3), "steps [3, 3] name 2 scales but scales is 3"),
        (dict(steps=4, scales=5), "scales must be 'auto' or an integer from 1 to steps"),
        (dict(size=[300, 0]), "size must be a positive integer or [width, height]"),
        (dict(size=[1, 2, 3]), "size must be a positive integer or [width, height]"),
        (dict(colour="match"), "unknown setting(s): colour"),
    ],
)
def test_each_check_names_the_bad_value(changes, message):
    with pytest.raises(SettingsError) as error:
        DEFAULT.replace(**changes)
    assert message in str(error.value)


@pytest.mark.parametrize(
    "settings, content, styles, masks, message",
    [
        ({}, None, ["s.png"], [], "content layers are set but no content image was given"),
        (dict(style_layers={"relu1_1": 1.0}), "c.png", [], [], "style layers are set but no style image was given"),
        (dict(content_layers={}), None, ["s.png"], [], "init='content' and colours='style' need a content image"),
        ({}, "c.png", ["s.png", "t.png"], ["m.png"], "one mask per style image (1 masks for 2 styles)"),
        (dict(style_blend=[1.0]), "c.png", ["s.png", "t.png"], [], "style_blend has 1 weights for 2 style image(s)"),
    ],
)
def test_inputs_the_settings_cannot_use_are_refused(settings, content, styles, masks, message):
    with pytest.raises(SettingsError) as error:
        DEFAULT.replace(**settings).check_inputs(content, styles, masks)
    assert message in str(error.value)
