"""The temporal loss (Ruder et al. 2016): a later frame is held to the previous result warped onto it."""


class TemporalLoss:
    """λ Σ c (x − ω)² / Σ c ω²: the image's relative squared difference to the warped previous result ω where the
    flow is reliable (c = 1) — relative, like stylekit's other losses, so λ means the same at every size."""

    def __init__(self, warped, weights, weight):
        self.warped, self.weights, self.weight = warped, weights, weight
        self.norm = (weights * warped**2).sum().clamp_min(1e-8)

    def __call__(self, image):
        target, weights = self.warped.to(image.device), self.weights.to(image.device)
        return self.weight * (weights * (image - target) ** 2).sum() / self.norm.to(image.device)
