from stylekit import load_image
from stylekit.judge import AXES, judge, quality_curve


def test_judge_scores_zero_for_the_targets_and_more_for_others(photo, texture):
    content, style = load_image(photo), load_image(texture, 64)
    own = judge(content, photo, texture)
    assert own["content"] < 1e-6
    styled = judge(style, photo, texture)
    assert styled["style"] < 1e-6 and styled["style_unused"] < 1e-6
    assert own["style"] > 0.1 and styled["content"] > 0.1


def test_quality_curve_judges_the_run_as_it_goes_at_the_final_size(photo, texture):
    result, points = quality_curve(photo, texture, every=2, steps=[4, 2], size=48, progress=False)
    assert [p["step"] for p in points] == [2, 4, 6]
    assert [p["passes"] for p in points] == [0.5, 1.0, 3.0] and points[-1]["seconds"] == result.seconds
    assert points[-1]["style"] < points[0]["style"]
    final = judge(result.image, photo, texture)
    assert all(points[-1][axis] == final[axis] for axis in AXES)
