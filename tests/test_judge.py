import torch
from PIL import Image

from stylekit import load_image, sample
from stylekit.judge import AXES, judge, quality_curve


def test_judge_scores_zero_for_the_targets_and_more_for_others(photo, texture):
    content, style = load_image(photo), load_image(texture, 64)
    own = judge(content, photo, texture)
    assert own["content"] < 1e-6
    styled = judge(style, photo, texture)
    assert styled["style"] < 1e-6 and styled["style_unused"] < 1e-6
    assert own["style"] > 0.1 and styled["content"] > 0.1
    uploaded = judge(content, Image.open(photo), Image.open(texture))  # the playground's uploads are PIL images
    assert all(abs(uploaded[k] - own[k]) <= 1e-6 + 1e-6 * own[k] for k in AXES)


def test_quality_curve_judges_the_run_as_it_goes_at_the_final_size(photo, texture):
    result, points = quality_curve(photo, texture, every=2, steps=[4, 2], size=48, progress=False)
    assert [p["step"] for p in points] == [2, 4, 6]
    assert [p["passes"] for p in points] == [0.5, 1.0, 3.0] and points[-1]["seconds"] == result.seconds
    assert points[-1]["style"] < points[0]["style"]
    final = judge(result.image, photo, texture)
    assert all(points[-1][axis] == final[axis] for axis in AXES)


def test_judge_in_a_region_sees_only_that_region():
    """A region judges only what lies inside it: an image that is the photo on the left half and the painting on the
    right scores the photo's content on the left and the painting's style on the right."""
    photo, painting = sample("chelsea"), sample("mosaic")
    content = load_image(photo, 192)
    height, width = content.shape[-2:]
    style = load_image(painting, max(height, width))[..., :height, :width]  # as the judge sizes the painting
    left = torch.zeros(1, 1, height, width)
    left[..., : width // 2] = 1
    half = content * left + style * (1 - left)
    inside, outside, whole = (judge(half, photo, painting, region=r) for r in (left, 1 - left, None))
    assert inside["content"] < 0.5 * whole["content"] < outside["content"]
    assert outside["style"] < whole["style"] < inside["style"]
