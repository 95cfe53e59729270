from stylekit import load_image
from stylekit.judge import judge


def test_judge_scores_zero_for_the_targets_and_more_for_others(photo, texture):
    content, style = load_image(photo), load_image(texture, 64)
    own = judge(content, photo, texture)
    assert own["content"] < 1e-6
    styled = judge(style, photo, texture)
    assert styled["style"] < 1e-6 and styled["style_unused"] < 1e-6
    assert own["style"] > 0.1 and styled["content"] > 0.1
