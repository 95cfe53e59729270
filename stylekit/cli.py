"""Command line: ``stylekit transfer``, ``demo``, ``layers``, ``video``, ``batch``; fast models: ``train``, ``stylize``;
universal style transfer: ``universal``, ``train-decoders``.

Problems a user can fix print one line and exit 2; Ctrl-C saves the latest image and exits 130.

Longer than the other modules (~330 lines): every command's flags and what it runs, kept in one place so that a
command reads top to bottom here; the flags themselves come from the settings dataclasses.
"""

import argparse
import dataclasses
import inspect
import os
import sys
import warnings
from pathlib import Path

from . import __version__
from .batch import batch, summary_table
from .errors import StylekitError
from .fast import load_fast, shipped_models, stylize
from .fast.train import TrainOptions, train_fast
from .images import check_outputs, open_image, read_settings
from .samples import sample
from .settings import CHOICES, PRESETS, Settings
from .transfer import transfer
from .universal import LEVELS, load_decoder, universal
from .universal.decoder import SHIPPED, decoder_file
from .universal.train import DecoderOptions, train_decoder
from .vgg import LAYERS, channels
from .video import VideoOptions, video

MASK_HELP = "one greyscale mask per style, white where it applies, or person / background (found in the photo)"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of argparse's usage block
        raise StylekitError(f"{message} (see '{self.prog} --help')")


def _layers(text):
    """'relu1_1,relu2_1:0.5' -> {'relu1_1': 1.0, 'relu2_1': 0.5}"""
    layers = {}
    for item in filter(None, text.split(",")):
        name, _, weight = item.partition(":")
        try:
            layers[name.strip()] = float(weight) if weight else 1.0
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad layer weight in {item!r}") from None
    return layers


def _bool(text):
    if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
        raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")
    return text.lower() in ("true", "1", "yes")


def _floats(text):
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, not {text!r}") from None


def _auto_or_int(text):
    """'auto' or an integer (--scales, --tile)."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected auto or an integer, not {text!r}") from None


def _steps(text):
    """'100' or '60,30,12' (one count per scale, coarsest first)."""
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"steps must be N or N,N,..., not {text!r}") from None
    return counts[0] if len(counts) == 1 else counts


def _size(text):
    """'512' (longest side) or '300x300' (width x height)."""
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be N or WxH, not {text!r}") from None
    return parts[0] if len(parts) == 1 else parts


# Settings whose values are not one plain word or number, and how the command line writes them.
_TYPES = {"content_layers": _layers, "style_layers": _layers, "relative_losses": _bool, "steps": _steps,
          "steps_first": _steps, "size": _size, "style_blend": _floats, "tile": _auto_or_int,
          "scales": _auto_or_int}  # fmt: skip


def _flag(name):
    return f"--{name.replace('_', '-')}"


def _add_settings(parser, skip=()):
    """``Settings``' fields as flags that override the preset: their help is the field's, their default None (the
    preset's value stays)."""
    for f in dataclasses.fields(Settings):
        if _flag(f.name) not in skip:
            allowed = CHOICES.get(f.name, ())
            listed = "" if any(c in f.metadata["help"] for c in allowed) else " | ".join(allowed)
            help_text = f.metadata["help"] + (f" ({listed})" if listed else "")
            parser.add_argument(_flag(f.name), type=_TYPES.get(f.name, f.type), help=help_text)


# Flags `video` gives a meaning of its own: its options, and --model (a fast model, not VGG).
_VIDEO_OWN = {"--model", *(_flag(f.name) for f in dataclasses.fields(VideoOptions))}


def _add_options(parser, options):
    """One flag per field of the ``options`` dataclass, its help the field's; not given: the field's default."""
    for f in dataclasses.fields(options):
        kind = _TYPES.get(f.name, f.type)
        default = "" if f.default is None else f" (default {f.default})"
        help_text = f.metadata["help"] + ("" if "(default" in f.metadata["help"] else default)
        choices = CHOICES.get(f.name) if f.name != "model" else None  # `model` of video/batch: a fast model
        parser.add_argument(_flag(f.name), type=kind, choices=choices, help=help_text)


def _options(args, options):
    """The ``options`` fields given on the command line."""
    names = (f.name for f in dataclasses.fields(options))
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def build_parser():
    parser = _Parser(prog="stylekit", description="Neural style transfer (Gatys et al.) with VGG16/VGG19.")
    parser.add_argument("--version", action="version", version=f"stylekit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser("transfer", help="style one image with another")
    run.add_argument("content", nargs="?", help="content image (any format Pillow reads)")
    run.add_argument("style", nargs="*", help="style image(s); several are blended (see --style-blend)")
    run.add_argument("-o", "--output", required=True, help="result PNG (settings stored in its metadata)")
    run.add_argument("--preset", default="default", choices=PRESETS)
    run.add_argument("--settings-from", metavar="PNG", help="repeat the run that made this stylekit PNG")
    run.add_argument("--mask", nargs="+", metavar="MASK", help=MASK_HELP)
    _add_settings(run)
    demo = commands.add_parser("demo", help="a full transfer on the bundled samples")
    demo.add_argument("-o", "--output", default="stylekit-demo.png")
    demo.add_argument("--steps", type=_steps, help="default: the default preset's")
    demo.add_argument("--size", type=_size, default=256)
    train = commands.add_parser("train", help="train a fast model for one style (Johnson et al.)")
    train.add_argument("style", help="style image")
    train.add_argument("-o", "--output", required=True, help="model file to write, e.g. mosaic.pt")
    train.add_argument("--photos", metavar="DIR", help="train on this folder's images (default: the bundled set)")
    _add_options(train, TrainOptions)
    styl = commands.add_parser("stylize", help="style photos with a fast model: one forward pass each")
    styl.add_argument("model", help="a model file, or the name of a shipped model: " + ", ".join(shipped_models()))
    styl.add_argument("photos", nargs="+", metavar="PHOTO")
    styl.add_argument("-o", "--output", required=True, help="a PNG for one photo; a folder for several")
    fast = {k: p.default for k, p in inspect.signature(stylize).parameters.items()}  # its defaults: one home
    styl.add_argument("--size", type=_size, help=f"longest side N, or WxH (default {fast['size']})")
    styl.add_argument("--strength", type=float, help=f"0: the photo, 1: fully styled (default {fast['strength']})")
    styl.add_argument("--colours", choices=("style", "luminance"), help=f"default {fast['colours']}")
    styl.add_argument("--device", default="auto")
    uni = commands.add_parser("universal", help="style a photo with any style image, no training per style (Li et al.)")
    uni.add_argument("photo", help="the photo (any format Pillow reads)")
    uni.add_argument("style", nargs="+", help="style image(s); several are blended (see --style-blend)")
    uni.add_argument("-o", "--output", required=True, help="result PNG (settings stored in its metadata)")
    given = {k: p.default for k, p in inspect.signature(universal).parameters.items()}  # its defaults: one home
    uni.add_argument("--size", type=_size, help=f"longest side N, or WxH (default {given['size']})")
    strength = f"features: 0 the photo's, 1 the style's (default {given['strength']})"
    uni.add_argument("--strength", type=float, help=strength)
    uni.add_argument("--levels", nargs="+", choices=LEVELS, metavar="LEVEL",
                     help=f"of {', '.join(LEVELS)} (default: all with a decoder); run deepest first")  # fmt: skip
    uni.add_argument("--colours", choices=CHOICES["colours"], help=f"default {given['colours']}")
    uni.add_argument("--style-blend", type=_floats, help="one weight per style image, e.g. 0.7,0.3 (default equal)")
    uni.add_argument("--mask", nargs="+", metavar="MASK", help=MASK_HELP)
    uni.add_argument(
        "--decoders", metavar="DIR", help="a folder of decoder_<level>.pt files (default: the shipped ones)"
    )
    uni.add_argument("--device", default="auto")
    decoders = commands.add_parser("train-decoders", help="train universal's decoders, one per level, in turn")
    decoders.add_argument("--levels", nargs="+", choices=LEVELS, default=list(LEVELS), metavar="LEVEL",
                          help=f"of {', '.join(LEVELS)} (default: all five, in that order)")  # fmt: skip
    decoders.add_argument("--photos", metavar="DIR", help="train on this folder's images (default: the bundled set)")
    decoders.add_argument("--out", default=str(SHIPPED), metavar="DIR",
                          help="a folder for decoder_<level>.pt, none there yet (default: the package's)")  # fmt: skip
    _add_options(decoders, DecoderOptions)
    clip = commands.add_parser("video", help="style a video (or a folder of frames) with temporal consistency")
    clip.add_argument("input", help="a video file, or a folder of frames")
    clip.add_argument("style", nargs="*", help="style image(s) (not with --model)")
    clip.add_argument("-o", "--output", required=True, help="an .mp4, or a folder for the frames")
    clip.add_argument("--preset", default="default", choices=PRESETS)
    clip.add_argument("--model", help="style each frame with this fast model (file or shipped name) instead")
    clip.add_argument("--mask", nargs="+", metavar="MASK",
                      help="one per style: a greyscale image, or person / background, found in each frame")  # fmt: skip
    _add_options(clip, VideoOptions)
    _add_settings(clip, skip=_VIDEO_OWN)
    many = commands.add_parser("batch", help="every content × every style into a folder; resumable; Ray")
    many.add_argument("content", nargs="+", help="content images: files, folders, globs")
    many.add_argument("--style", nargs="+", default=[], help="style images: files, folders, globs")
    many.add_argument("-o", "--output", required=True, help="output folder (content__style.png, summary.csv)")
    many.add_argument("--preset", default="default", choices=PRESETS)
    many.add_argument("--model", help="style with this fast model (file or shipped name) instead of transfer")
    many.add_argument("--strength", type=float, help="with --model: 0 the photo, 1 fully styled")
    many.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                      help="run items as Ray tasks on a cluster (default: RAY_ADDRESS or the local one)")  # fmt: skip
    _add_settings(many, skip={"--model"})
    layers = commands.add_parser("layers", help="list a model's layer names and torchvision indices")
    layers.add_argument("--model", default="vgg19", choices=LAYERS)
    return parser


def _warn(message, *_):
    print(f"stylekit: warning: {message}", file=sys.stderr)


def main(argv=None):
    with warnings.catch_warnings():
        warnings.showwarning = _warn  # one line, without the source line Python would add
        return _main(argv)


def _main(argv):
    try:
        args = build_parser().parse_args(argv)
        if args.command == "layers":
            return _print_layers(args.model)
        if args.command == "train":
            return _train(args)
        if args.command == "stylize":
            return _stylize(args)
        if args.command == "universal":
            return _universal(args)
        if args.command == "train-decoders":
            return _train_decoders(args)
        if args.command == "batch":
            return _batch(args)
        if args.command == "video":
            return _video(args)
        if args.command == "demo":
            args.content, args.style = sample("astronaut"), [sample("brushstrokes")]
            args.settings_from, args.preset = None, "default"
            return _run(args, dict(steps=args.steps, size=args.size))
        return _run(args, _given(args))
    except StylekitError as e:
        print(f"stylekit: error: {e}", file=sys.stderr)
        return 2


def _given(args, skip=()):
    """The ``Settings`` flags given on the command line, as settings; those not given are left to the preset."""
    names = (f.name for f in dataclasses.fields(Settings) if _flag(f.name) not in skip)
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _run(args, flags):
    settings = {}
    if args.settings_from:
        saved = read_settings(args.settings_from)
        args.content, args.style = args.content or saved.pop("content", None), args.style or saved.pop("style", None)
        mask = saved.pop("mask", None)
        args.mask = getattr(args, "mask", None) or ([mask] if isinstance(mask, str) else mask)
        settings = {k: v for k, v in saved.items() if k in Settings.__dataclass_fields__}
    settings.update({k: v for k, v in flags.items() if v is not None})
    if not args.content or not args.style:
        raise StylekitError("give a CONTENT and a STYLE image (or --settings-from a stylekit PNG)")
    styles = [args.style] if isinstance(args.style, str) else list(args.style)
    masks = getattr(args, "mask", None)
    inputs = [args.content, *styles, settings.get("init"), settings.get("keep"), *(masks or [])]
    output = _check_output(args.output, inputs)
    snapshots = output.with_name(f"{output.stem}_step{{step:05d}}.png")
    style = styles[0] if len(styles) == 1 else styles
    mask = None if not masks else masks[0] if len(masks) == 1 else masks
    result = transfer(args.content, style, args.preset, mask=mask, snapshot_path=snapshots, **settings)
    result.save(output)
    if result.stopped:
        print(f"stylekit: interrupted at step {result.steps_done}; latest image saved to {output}", file=sys.stderr)
        return 130
    print(
        f"saved {output.resolve()} ({result.steps_done} steps, {result.passes:.1f} full-size VGG passes, "
        f"{result.seconds:.1f} s optimising)"
    )
    return 0


def _train(args):
    output = _check_output(args.output, [args.style], suffix=".pt")
    checkpoint = output.with_suffix(".checkpoint.pt")
    if checkpoint.exists():
        load_fast(checkpoint, "cpu")  # a damaged checkpoint is refused before resuming is announced
        print(f"stylekit: resuming from {checkpoint}", file=sys.stderr)
    model = train_fast(args.style, args.photos, checkpoint=checkpoint, **_options(args, TrainOptions))
    steps = len(model.history["total"])
    if model.stopped:
        print(f"stylekit: interrupted at step {steps}; saved {checkpoint}: run the same command to resume",
              file=sys.stderr)  # fmt: skip
        return 130
    model.save(output)
    checkpoint.unlink(missing_ok=True)
    print(f"saved {output.resolve()} ({steps} steps, {model.history['seconds'][-1] / 60:.1f} min training)")
    return 0


def _stylize(args):
    model = load_fast(args.model, args.device)
    several = len(args.photos) > 1 or Path(args.output).is_dir()
    if several and not Path(args.output).is_dir():
        raise StylekitError(f"{len(args.photos)} photos need an existing folder as output, not {args.output}")
    for photo in args.photos:  # every photo readable before the first is styled
        open_image(photo)
    targets = [Path(args.output) / f"{Path(photo).stem}_{model.style}.png" if several else Path(args.output)
               for photo in args.photos]  # fmt: skip
    check_outputs(targets, args.photos)  # two photos of one name from two folders would share one output
    for photo, target in zip(args.photos, targets):
        output = _check_output(target, args.photos)
        given = {k: getattr(args, k) for k in ("size", "strength", "colours") if getattr(args, k) is not None}
        result = stylize(model, photo, **given)
        result.save(output)
        print(f"saved {output.resolve()} ({result.seconds:.2f} s)")
    return 0


def _universal(args):
    output = _check_output(args.output, [args.photo, *args.style, *(args.mask or [])])
    names = ("size", "strength", "levels", "colours", "style_blend", "device")
    given = {k: getattr(args, k) for k in names if getattr(args, k) is not None}
    style = args.style[0] if len(args.style) == 1 else args.style
    mask = None if not args.mask else args.mask[0] if len(args.mask) == 1 else args.mask
    result = universal(args.photo, style, decoders=args.decoders, mask=mask, **given)
    result.save(output)
    print(f"saved {output.resolve()} ({', '.join(result.settings['universal'])}: {result.seconds:.2f} s)")
    return 0


def _train_decoders(args):
    folder = Path(args.out)
    if not folder.is_dir():
        raise StylekitError(f"output folder {folder} does not exist")
    options = _options(args, DecoderOptions)
    there = [str(decoder_file(level, folder)) for level in args.levels if decoder_file(level, folder).exists()]
    if there:  # the shipped ones among them: stylekit/data/README.md says how they were made
        raise StylekitError(f"{there[0]} exists: give --out another folder, or remove it to train it again")
    for i, level in enumerate(args.levels):
        output = decoder_file(level, folder)
        checkpoint = output.with_suffix(".checkpoint.pt")
        if checkpoint.exists():
            load_decoder(checkpoint, "cpu")  # a damaged checkpoint is refused before resuming is announced
            print(f"stylekit: resuming from {checkpoint}", file=sys.stderr)
        decoder = train_decoder(level, args.photos, checkpoint=checkpoint, **options)
        steps = len(decoder.history["total"])
        if decoder.stopped:
            print(f"stylekit: interrupted at step {steps} of {level}; saved {checkpoint}: run the same command with "
                  f"--levels {' '.join(args.levels[i:])} to resume", file=sys.stderr)  # fmt: skip
            return 130
        decoder.save(output)
        checkpoint.unlink(missing_ok=True)
        print(f"saved {output.resolve()} ({steps} steps, {decoder.history['seconds'][-1] / 60:.1f} min training)")
    return 0


def _video(args):
    if bool(args.style) == bool(args.model):
        raise StylekitError("give STYLE image(s) or --model, one of the two")
    settings = _given(args, skip=_VIDEO_OWN)
    style = None if args.model else args.style[0] if len(args.style) == 1 else args.style
    mask = None if not args.mask else args.mask[0] if len(args.mask) == 1 else args.mask
    result = video(args.input, style, args.output, args.preset, model=args.model, mask=mask,
                   **_options(args, VideoOptions), **settings)  # fmt: skip
    if result.stopped:
        print(f"stylekit: interrupted; {result.output} has the {result.frames} frames done: run the same command to "
              "continue", file=sys.stderr)  # fmt: skip
        return 130
    per_frame = sum(result.seconds) / max(len(result.seconds), 1)
    print(f"saved {Path(result.output).resolve()} ({result.frames} frames, {per_frame:.2f} s per frame styled)")
    return 0


def _batch(args):
    if bool(args.style) == bool(args.model):
        raise StylekitError("give --style image(s) or --model, one of the two")
    settings = _given(args, skip={"--model"})
    if args.strength is not None:
        settings["strength"] = args.strength
    ray_address = None if args.ray is None else args.ray or os.environ.get("RAY_ADDRESS", "auto")
    items = batch(args.content, args.style, args.output, args.preset, model=args.model, ray_address=ray_address,
                  **settings)  # fmt: skip
    print(summary_table(items))
    print(f"summary: {Path(args.output, 'summary.csv').resolve()}")
    if any(item.status in ("interrupted", "pending") for item in items):
        print("stylekit: interrupted; the items not done are made by the same command again", file=sys.stderr)
        return 130
    return 1 if any(item.status == "failed" for item in items) else 0


def _check_output(output, inputs, suffix=".png"):
    output = Path(output)
    if output.suffix.lower() != suffix:
        raise StylekitError(f"output must be a {suffix} file, not {output}")
    if not output.parent.is_dir():
        raise StylekitError(f"output folder {output.parent} does not exist")
    check_outputs([output], inputs)
    return output


def _print_layers(arch):
    print(f"{'index':>5}  {'layer':<8} channels")
    for i, name in enumerate(LAYERS[arch]):
        print(f"{i:>5}  {name:<8} {channels(name)}")
    return 0
