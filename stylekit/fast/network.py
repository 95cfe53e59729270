"""The network of fast style transfer (Johnson et al. 2016): a photo in, the stylised image out, same size."""

import torch
from torch import nn


def _conv(c_in, c_out, kernel, stride=1):
    # Reflection padding: zero padding would darken a border the network then learns to paint.
    return nn.Sequential(nn.ReflectionPad2d(kernel // 2), nn.Conv2d(c_in, c_out, kernel, stride))


def _conv_norm_relu(c_in, c_out, kernel, stride=1, upsample=False):
    # Upsampling as nearest-neighbour resize + conv: transposed convolutions leave a checkerboard (Odena et al.).
    resize = [nn.Upsample(scale_factor=2, mode="nearest")] if upsample else []
    return nn.Sequential(*resize, _conv(c_in, c_out, kernel, stride), nn.InstanceNorm2d(c_out, affine=True), nn.ReLU())


class _Residual(nn.Module):
    def __init__(self, channels):
        super().__init__()
        norm = nn.InstanceNorm2d(channels, affine=True)
        self.body = nn.Sequential(_conv_norm_relu(channels, channels, 3), _conv(channels, channels, 3), norm)

    def forward(self, x):
        return x + self.body(x)


class TransformNet(nn.Sequential):
    """Photo (N, 3, H, W) in [0, 1] -> stylised image, same size: 9×9 conv, two stride-2 convs down, five residual
    blocks at a quarter of the size, two upsampling convs, 9×9 conv out; instance normalisation (Ulyanov et al.),
    which makes the result independent of the photo's contrast. 1.68 M parameters.

    A sigmoid keeps the output in [0, 1], so training scores the image ``stylize`` returns: a network trained
    unbounded and clamped afterwards is judged on pixels it never produced (docs/performance.md: Fast models)."""

    def __init__(self):
        super().__init__(
            _conv_norm_relu(3, 32, 9),
            _conv_norm_relu(32, 64, 3, stride=2),
            _conv_norm_relu(64, 128, 3, stride=2),
            *[_Residual(128) for _ in range(5)],
            _conv_norm_relu(128, 64, 3, upsample=True),
            _conv_norm_relu(64, 32, 3, upsample=True),
            _conv(32, 3, 9),
        )

    def forward(self, photo):
        # Two halvings and two doublings: pad to a multiple of 4, crop back, so any size comes out as it went in.
        height, width = photo.shape[-2:]
        padded = nn.functional.pad(photo, (0, -width % 4, 0, -height % 4), mode="reflect")
        return torch.sigmoid(super().forward(padded)[..., :height, :width])
