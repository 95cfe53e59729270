"""Bad input, everywhere, as one table: every command, the API and the playground's uploads.

Each case gives one line naming the problem (exit 2 from the CLI, a ``StylekitError`` from the API, one line in
the page), never a traceback, and leaves every input and any earlier output byte-identical, with no new file and
no half-written ``*.tmp`` beside it (except what a case documents in ``leaves``). A full disk and a read-only
folder are real where a small tmpfs can be mounted (CI runs as root), else skipped; patched writers simulate them
too, at the moment a file is half written. Every file under the case's folder, the mounts included, is compared
byte for byte before and after.
"""

import builtins
import errno
import hashlib
import html
import importlib
import io
import json
import os
import struct
import subprocess
import traceback
import zlib
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
import torch
from PIL import Image, PngImagePlugin

import stylekit
from stylekit.cli import main
from stylekit.errors import StylekitError
from stylekit.fast import FORMAT, SHIPPED, VERSION, shipped_models
from stylekit.playground.widgets import UPLOAD
from stylekit.result import Result
from stylekit.samples import DATA

CLIP = DATA / "clip_coffee.mp4"
MODEL = "mosaic" if "mosaic" in shipped_models() else shipped_models()[0]
EARLIER = b"an earlier output: must survive every failed run byte for byte"


# -- the inputs: made fresh for every case ---------------------------------------------------------------------------


def _png(path, width, height, seed=0):
    g = torch.Generator().manual_seed(seed)
    Image.fromarray((torch.rand(height, width, 3, generator=g) * 255).byte().numpy()).save(path)
    return path


def _png_bytes(width, height):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def _bomb_bytes(side=40_000):
    """A valid PNG header of side² pixels (18× Pillow's limit) in 69 bytes: a decompression bomb's opening."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def _write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def make_world(tmp):
    """{name: path} of every input the table uses, and of the earlier outputs it must not touch."""
    w = {"tmp": tmp, "clip": CLIP, "model": MODEL, "shipped": SHIPPED / f"{MODEL}.pt"}
    w["photo"], w["style"] = _png(tmp / "photo.png", 64, 48), _png(tmp / "style.png", 64, 64, 1)
    w["tiny"] = _png(tmp / "tiny.png", 8, 8)
    w["flat"] = tmp / "flat.png"
    Image.new("RGB", (64, 64), (200, 30, 30)).save(w["flat"])
    w["fake_decoders"] = _write(tmp / "fake_decoders" / "decoder_relu1_1.pt", b"\x00" * 100).parent
    w["notes"] = _write(tmp / "notes.jpg", b"hello, not a picture")
    w["cut"] = _write(tmp / "cut.png", w["photo"].read_bytes()[: len(w["photo"].read_bytes()) // 2])
    w["bomb"] = _write(tmp / "bomb.png", _bomb_bytes())
    info = PngImagePlugin.PngInfo()
    info.add_text("stylekit", '{"style_weight": 9, "content": ')  # cut off mid-way
    Image.new("RGB", (64, 48)).save(tmp / "badjson.png", pnginfo=info)
    w["badjson"] = tmp / "badjson.png"
    # Model files that are not stylekit fast models, or no longer whole ones.
    w["junk_pt"] = _write(tmp / "junk.pt", b"\x00" * 100)
    torch.save(torch.nn.Conv2d(3, 8, 3).state_dict(), tmp / "foreign.pt")  # another network's weights
    torch.save({"format": FORMAT, "version": VERSION, "style": "x"}, tmp / "damaged.pt")  # no weights
    torch.save({"format": FORMAT, "version": 99}, tmp / "future.pt")
    torch.save(torch.nn.Conv2d(3, 8, 3), tmp / "pickled.pt")  # a whole pickled module, not a state dict
    w.update({name: tmp / f"{name.removesuffix('_pt')}.pt" for name in ("foreign_pt", "damaged_pt", "future_pt")})
    w["pickled_pt"] = tmp / "pickled.pt"
    w["cut_pt"] = _write(tmp / "cut_model.pt", w["shipped"].read_bytes()[:65536])
    w["notes_mp4"] = _write(tmp / "notes.mp4", b"not a video")
    w["cut_mp4"] = _write(tmp / "cut.mp4", CLIP.read_bytes()[: CLIP.stat().st_size // 2])
    # Folders: frames that change size, none at all, photos to train on, nothing readable, two files of one name.
    for name in ("mixed", "empty", "photos", "junk", "a", "b", "outdir", "ro", "result.png"):
        w[name.replace(".", "_")] = tmp / name
        (tmp / name).mkdir()
    _png(tmp / "mixed" / "1.png", 64, 48)
    _png(tmp / "mixed" / "2.png", 48, 64)
    _png(tmp / "photos" / "p.png", 64, 48, 2)
    _write(tmp / "junk" / "notes.jpg", b"not a photo either")
    _png(tmp / "a" / "photo.png", 48, 36)
    _png(tmp / "b" / "photo.png", 48, 36, 3)
    # Earlier outputs.
    w["out"], w["model_out"], w["video_out"] = (_write(tmp / n, EARLIER) for n in ("out.png", "model.pt", "out.mp4"))
    _write(tmp / "outdir" / "summary.csv", EARLIER)
    _write(tmp / "outdir" / "photo__style.png", EARLIER)
    _write(tmp / "ro" / "out.png", EARLIER)
    _write(tmp / "other.frames" / "settings.json", b'{"made": "with other settings"}')
    _write(tmp / "other.frames" / "000001.png", EARLIER)
    _write(tmp / "m2.checkpoint.pt", b"\x00" * 100)  # a damaged training checkpoint beside the output m2.pt
    # Inputs named as outputs of a run would be: a snapshot's name, a batch item's, a video's work folder.
    w["snap"] = _png(tmp / "out_step00001.png", 64, 48, 4)
    (tmp / "in.frames").mkdir()
    for i in (1, 2):
        _png(tmp / "in.frames" / f"{i}.png", 48, 36, i)
    w["in_frames"] = tmp / "in.frames"
    # Settings read back from a PNG whose values have the wrong types.
    for name, settings in {"typed_string": {"style_weight": "heavy"}, "typed_layers": {"style_layers": "relu1_1"},
                           "typed_seed": {"seed": 2**70}, "typed_size": {"size": {"w": 3}}}.items():  # fmt: skip
        w[name] = _settings_png(tmp / f"{name}.png", {"content": str(w["photo"]), "style": str(w["style"]), **settings})
    # A decoder file under another level's name.
    w["renamed_decoders"] = tmp / "renamed"
    _write(w["renamed_decoders"] / "decoder_relu2_1.pt", (SHIPPED / "decoder_relu1_1.pt").read_bytes())
    return w


def _settings_png(path, settings):
    info = PngImagePlugin.PngInfo()
    info.add_text("stylekit", json.dumps(settings))
    Image.new("RGB", (64, 48)).save(path, pnginfo=info)
    return path


def snapshot(root):
    """{relative path: bytes, or None for a folder} of everything under ``root``."""
    return {p.relative_to(root).as_posix(): None if p.is_dir() else p.read_bytes() for p in sorted(root.rglob("*"))}


def data_hashes(argv):
    """Hashes of the bundled inputs that ``argv`` reads in place (for the API and the page: all it may)."""
    if argv:
        paths = [Path(a) for a in argv if DATA in Path(a).parents] + [SHIPPED / f"{a}.pt" for a in argv if a == MODEL]
    else:
        paths = [CLIP, SHIPPED / f"{MODEL}.pt"]
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


# -- simulated file systems ------------------------------------------------------------------------------------------


def full_disk(world, monkeypatch):
    """Every PNG (Pillow) and model file (torch.save) gets half its bytes written, then ENOSPC: a full disk."""
    real_pil, real_torch = Image.Image.save, torch.save

    def fail_half_way(data, target):
        if hasattr(target, "write"):
            target.write(data[: len(data) // 2])
            target.flush()
        else:
            Path(target).write_bytes(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def pil_save(self, fp, format=None, **params):
        buffer = io.BytesIO()
        real_pil(self, buffer, format=format or "PNG", **params)
        fail_half_way(buffer.getvalue(), fp)

    def torch_save(obj, f, *args, **kwargs):
        buffer = io.BytesIO()
        real_torch(obj, buffer, *args, **kwargs)
        fail_half_way(buffer.getvalue(), f)

    monkeypatch.setattr(Image.Image, "save", pil_save)
    monkeypatch.setattr(torch, "save", torch_save)


def read_only(world, monkeypatch):
    """The folder ``ro`` as a read-only mount: creating, writing or renaming anything in it fails with EROFS."""
    folder = world["ro"].resolve()

    def guard(path):
        if isinstance(path, (str, bytes, os.PathLike)):
            path = Path(os.fsdecode(path)).resolve()
            if folder == path or folder in path.parents:
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    real_open, real_os_open, real_mkdir, real_replace = builtins.open, os.open, os.mkdir, os.replace
    real_torch_save = torch.save

    def fake_open(file, mode="r", *args, **kwargs):
        if set(mode) & set("wxa+"):
            guard(file)
        return real_open(file, mode, *args, **kwargs)

    def fake_os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            guard(path)
        return real_os_open(path, flags, *args, **kwargs)

    def fake_mkdir(path, *args, **kwargs):
        guard(path)
        return real_mkdir(path, *args, **kwargs)

    def fake_replace(src, dst, *args, **kwargs):
        guard(dst)
        return real_replace(src, dst, *args, **kwargs)

    def fake_torch_save(obj, f, *args, **kwargs):
        guard(f)  # torch opens a path in C++, past the patched open
        return real_torch_save(obj, f, *args, **kwargs)

    for owner, name, fake in ((builtins, "open", fake_open), (io, "open", fake_open), (os, "open", fake_os_open),
                              (os, "mkdir", fake_mkdir), (os, "replace", fake_replace),
                              (torch, "save", fake_torch_save)):  # fmt: skip
        monkeypatch.setattr(owner, name, fake)


def _mount(world, options):
    """A tmpfs at ``world['tmp']/fs`` with ``options``, or the case is skipped where mounting is not allowed."""
    folder = world["tmp"] / "fs"
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    return folder


def no_face(world, monkeypatch):
    """Segmentation finds a person but no face (as the network can; the offline path finds none without a face)."""
    from stylekit.segment import Segmentation

    found = Segmentation(torch.ones(1, 1, 48, 64), None, "network", name="the content image")
    monkeypatch.setattr("stylekit.segment.segment", lambda photo, *a, **k: found)


def real_read_only(world, monkeypatch):
    _mount(world, "size=1m,ro")


def real_full_disk(world, monkeypatch):
    """A 64 KiB tmpfs, filled: the next write gets ENOSPC from the kernel."""
    folder = _mount(world, "size=64k")
    with open(folder / "filler", "wb") as f, suppress(OSError):
        f.write(b"\0" * 2**17)


@pytest.fixture(autouse=True)
def unmounted(tmp_path):
    """Every tmpfs a case mounted is gone after it."""
    yield
    for line in Path("/proc/mounts").read_text().splitlines() if Path("/proc/mounts").exists() else []:
        where = line.split()[1]
        if where.startswith(str(tmp_path)):
            subprocess.run(["umount", where], check=True)


# -- the API and the playground: each returns the one line it showed -------------------------------------------------


def raises(function):
    """The message of the ``StylekitError`` ``function`` raises."""
    with pytest.raises(StylekitError) as caught:
        function()
    return str(caught.value)


def api(function):
    return lambda world, request: raises(lambda: function(world))


def _upload(data, name):
    """What a browser upload sets on an ipywidgets 8 FileUpload."""
    when = datetime.now(timezone.utc)
    return ({"name": name, "type": "image/png", "size": len(data), "last_modified": when, "content": memoryview(data)},)


def _shown(status):
    """The page's error line, as text."""
    assert status.startswith("<b>Error:</b> "), status
    return html.unescape(status.removeprefix("<b>Error:</b> "))


_PAGES = {}  # the playground and its Instant tab take seconds to build: one of each serves every page case


def _playground(request):
    """The playground after one good run, whose result and preview every bad upload must leave in place; its
    pickers back on the bundled samples."""
    request.getfixturevalue("offline_torchvision")
    if "playground" not in _PAGES:
        from stylekit.playground import Playground

        pg = Playground(blocking=True).transfer
        pg.size.value, pg.steps.value = 32, 1
        pg.runner.run_button.click()
        assert pg.runner.result is not None and pg.runner.preview.value, pg.runner.status.value
        _PAGES["playground"] = pg, pg.runner.result, pg.runner.preview.value
    pg, result, preview = _PAGES["playground"]
    for picker, sample in ((pg.content, "chelsea"), (pg.style, "brushstrokes")):
        picker.upload.value, picker.choice.value = (), sample
    return pg, result, preview


def playground_upload(picker, data, name):
    """``picker`` gets an upload of ``data`` and Run is pressed: one line in the status, the earlier result and
    preview kept, the buttons ready for the next try."""

    def call(world, request):
        pg, kept, preview = _playground(request)
        chosen, r = getattr(pg, picker), pg.runner
        chosen.choice.value = UPLOAD
        chosen.upload.value = _upload(data, name)
        r.run_button.click()
        assert r.result is kept and r.preview.value == preview and chosen.choice.value == UPLOAD
        assert not r.run_button.disabled and r.stop_button.disabled
        return _shown(r.status.value)

    return call


def instant_upload(data, name):
    """The Instant tab's photo becomes an upload of ``data``: one line in its status, the last image kept."""

    def call(world, request):
        if "instant" not in _PAGES:
            from stylekit.playground.instant import Instant
            from stylekit.playground.widgets import ImagePicker

            _PAGES["instant"] = Instant(ImagePicker("photo", ["chelsea"], "chelsea"), folder=world["empty"])
            _PAGES["instant"].size.value = 128
        tab = _PAGES["instant"]
        tab.photo.upload.value, tab.photo.choice.value = (), "chelsea"
        kept = tab.result.value
        assert kept and "128×85 px" in tab.status.value, tab.status.value
        tab.photo.choice.value = UPLOAD
        tab.photo.upload.value = _upload(data, name)
        assert tab.result.value == kept
        return _shown(tab.status.value)

    return call


# -- the table -------------------------------------------------------------------------------------------------------


@dataclass
class Case:
    argv: str = ""  # CLI arguments split at spaces; "{name}" is make_world's path of that name
    message: str = ""  # what the one line must contain
    setup: object = None  # (world, monkeypatch): a simulated full disk or read-only folder
    call: object = None  # instead of argv, (world, request) -> the line the API or the page showed
    leaves: tuple = ()  # new paths (relative to tmp) the case may leave, documented in its row


def case(id, argv, message, **kwargs):
    return pytest.param(Case(argv, message, **kwargs), id=id)


def call(id, function, message):
    return case(id, "", message, call=function)


T = " --size 32 --steps 1"  # transfer and batch, as small as they go
R = " --photos {photos} --size 64 --steps 1 --batch 1 --style-size 64"  # train
V = " --size 32 --steps-first 1 --steps 1"  # video
TRANSFER = "transfer {photo} {style} -o {out}" + T
STYLIZE = "stylize {model} {photo} -o {out} --size 48"
UNIVERSAL = "universal {photo} {style} -o {out} --size 48"
DECODERS = "train-decoders --levels relu1_1 --out {outdir} --photos {photos} --size 64 --steps 1 --batch 1"
TRAIN = "train {style} -o {model_out}" + R
VIDEO = "video {clip} {style} -o {video_out}" + V
BATCH = "batch {photo} --style {style} -o {outdir}"
FAST_BATCH = "batch {photo} --model {model} -o {outdir} --size 48"
SMALL = dict(size=32, steps=1, progress=False)  # the API's runs: bounded, should a check ever be missed
SMALL_TRAIN = dict(size=64, steps=1, batch=1, style_size=64, progress=False)
SMALL_VIDEO = dict(size=32, steps_first=1, steps=1, progress=False)

CASES = [
    # transfer: the images
    case("transfer-content-missing", "transfer {tmp}/nope.png {style} -o {out}" + T, "nope.png: no such file"),
    case("transfer-content-truncated", "transfer {cut} {style} -o {out}" + T, "cut.png: cannot read image"),
    case("transfer-style-not-an-image", "transfer {photo} {notes} -o {out}" + T, "not an image Pillow can read"),
    case("transfer-style-decompression-bomb", "transfer {photo} {bomb} -o {out}" + T, "decompression bomb"),
    case("transfer-content-too-small", "transfer {tiny} {style} -o {out}" + T, "8×8 px; images need at least 16 px"),
    case("transfer-no-style", "transfer {photo} -o {out}" + T, "give a CONTENT and a STYLE image"),
    case("transfer-mask-missing", TRANSFER + " --mask {tmp}/nope.png", "nope.png: no such file"),
    case("transfer-masks-for-one-style", TRANSFER + " --mask {photo} {photo}", "(2 masks for 1 styles)"),
    case("transfer-mask-misspelt", TRANSFER + " --mask persn", "mask must be person, background or an image file, not"),
    case("transfer-keep-misspelt", TRANSFER + " --keep fase", "keep must be person, background, face or an image file"),
    case("transfer-keep-weight-negative", TRANSFER + " --keep face --keep-weight -1", "keep_weight must be a finite"),
    case("transfer-keep-face-no-face", TRANSFER + " --keep face", "no face was found", setup=no_face),
    case("transfer-mask-person-none-there", "transfer {style} {photo} -o {out} --mask person" + T, "no person found"),
    case("transfer-keep-face-none-there", "transfer {style} {photo} -o {out} --keep face" + T, "no person found"),
    case("transfer-mask-person-tiny-photo", "transfer {tiny} {style} -o {out} --mask person" + T, "is 8×8 px; finding"),
    case("transfer-init-missing", TRANSFER + " --init {tmp}/nope.png", "nope.png: no such file"),
    case("transfer-settings-from-foreign-png", "transfer --settings-from {photo} -o {out}", "has no stylekit settings"),
    case("transfer-settings-from-damaged-json", "transfer --settings-from {badjson} -o {out}", "settings are damaged"),
    # transfer: the output
    case("transfer-output-is-the-content", "transfer {photo} {style} -o {photo}" + T, "is also an input"),
    case("transfer-output-is-the-style", "transfer {photo} {style} -o {style}" + T, "is also an input"),
    case("transfer-output-is-the-init", TRANSFER + " --init {out}", "is also an input"),
    case("transfer-output-folder-missing", "transfer {photo} {style} -o {tmp}/missing/out.png" + T, "does not exist"),
    case("transfer-output-not-png", "transfer {photo} {style} -o {tmp}/out.jpg" + T, "must be a .png file"),
    case("transfer-output-is-a-folder", "transfer {photo} {style} -o {result_png}" + T, "Is a directory"),
    case("transfer-full-disk", TRANSFER, "No space left on device", setup=full_disk),
    case("transfer-read-only", "transfer {photo} {style} -o {ro}/out.png" + T, "Read-only file", setup=read_only),
    case(
        "transfer-real-read-only",
        "transfer {photo} {style} -o {tmp}/fs/out.png" + T,
        "Read-only file system",
        setup=real_read_only,
    ),
    case(
        "transfer-real-full-disk",
        "transfer {photo} {style} -o {tmp}/fs/out.png" + T,
        "No space left on device",
        setup=real_full_disk,
    ),
    case("transfer-snapshot-is-the-content", "transfer {snap} {style} -o {out} --save-every 1" + T, "is also an input"),
    case(
        "transfer-settings-from-wrong-types",
        "transfer --settings-from {typed_string} -o {out}" + T,
        "style_weight must be a finite number >= 0, not 'heavy'",
    ),
    case(
        "transfer-settings-from-layers-as-text",
        "transfer --settings-from {typed_layers} -o {out}" + T,
        "style_layers must map layer names to weights",
    ),
    case("transfer-settings-from-huge-seed", "transfer --settings-from {typed_seed} -o {out}" + T, "below 2**64"),
    case(
        "transfer-settings-from-size-a-dict",
        "transfer --settings-from {typed_size} -o {out} --steps 1",
        "size must be a positive integer or [width, height], not {'w': 3}",
    ),
    case("transfer-seed-beyond-64-bits", TRANSFER + " --seed 18446744073709551616", "seed must be an integer >= 0"),
    case("transfer-style-scale-beyond-memory", TRANSFER + " --style-scale 1000", "choose a smaller size"),
    # transfer: the settings
    case("transfer-style-weight-nan", TRANSFER + " --style-weight nan", "style_weight must be a finite number"),
    case("transfer-content-weight-negative", TRANSFER + " --content-weight -3", "content_weight must be a finite"),
    case("transfer-tv-weight-inf", TRANSFER + " --tv-weight inf", "tv_weight must be a finite number"),
    case("transfer-lr-zero", TRANSFER + " --lr 0", "lr must be positive"),
    case("transfer-early-stop-above-one", TRANSFER + " --early-stop 1.5", "early_stop is a fraction of the loss"),
    case("transfer-steps-zero", TRANSFER + " --steps 0", "steps must be an integer >= 1"),
    case("transfer-size-zero", TRANSFER + " --size 0", "size must be a positive int"),
    case("transfer-size-beyond-memory", TRANSFER + " --size 100000", "the largest size that fits is about"),
    case("transfer-unknown-style-layer", TRANSFER + " --style-layers relu1_1,conv9_1", "unknown layer 'conv9_1'"),
    case("transfer-unknown-content-layer", TRANSFER + " --content-layers relu9_9", "unknown layer 'relu9_9'"),
    case("transfer-bad-layer-weight", TRANSFER + " --style-layers relu1_1:heavy", "bad layer weight in 'relu1_1:"),
    case("transfer-blend-for-one-style", TRANSFER + " --style-blend 0.7,0.3", "style_blend has 2 weights for 1 style"),
    case("transfer-precision-fp16", TRANSFER + " --precision fp16", "precision must be one of auto, fp32, bf16"),
    case("transfer-tile-too-small", TRANSFER + " --tile 5", "tile must be 'auto', 0 (never) or a side of at least 16"),
    case("transfer-weights-a-fast-model", TRANSFER + " --weights {shipped}", "not a state dict of tensors"),
    case("transfer-weights-pickled", TRANSFER + " --weights {pickled_pt}", "cannot read checkpoint"),
    case("transfer-device-unknown", TRANSFER + " --device banana", "device must be auto, cpu, cuda or cuda:N"),
    # stylize
    case("stylize-model-junk-bytes", "stylize {junk_pt} {photo} -o {out}", "not a stylekit fast model"),
    case("stylize-model-of-another-network", "stylize {foreign_pt} {photo} -o {out}", "not a stylekit fast model"),
    case("stylize-model-damaged", "stylize {damaged_pt} {photo} -o {out}", "a damaged stylekit fast model"),
    case("stylize-model-truncated", "stylize {cut_pt} {photo} -o {out}", "not a stylekit fast model"),
    case("stylize-model-from-the-future", "stylize {future_pt} {photo} -o {out}", "format version 99"),
    case("stylize-model-unknown-name", "stylize picasso {photo} -o {out}", "no such fast model file (shipped models:"),
    case("stylize-photo-missing", "stylize {model} {tmp}/nope.png -o {out}", "nope.png: no such file"),
    case("stylize-second-photo-not-an-image", "stylize {model} {photo} {notes} -o {outdir}", "notes.jpg: not an image"),
    case("stylize-photo-too-small", "stylize {model} {tiny} -o {out} --size 48", "8×8 px; images need at least 16"),
    case("stylize-photo-decompression-bomb", "stylize {model} {bomb} -o {out}", "decompression bomb"),
    case("stylize-output-is-the-photo", "stylize {model} {photo} -o {photo}", "is also an input"),
    case("stylize-two-photos-one-file", "stylize {model} {photo} {style} -o {out}", "2 photos need an existing folder"),
    case("stylize-output-folder-missing", "stylize {model} {photo} -o {tmp}/missing/out.png", "does not exist"),
    case("stylize-strength-above-one", STYLIZE + " --strength 1.5", "strength must be between 0 and 1"),
    case("stylize-strength-nan", STYLIZE + " --strength nan", "strength must be between 0 and 1"),
    case("stylize-size-zero", STYLIZE + " --size 0", "size must be a positive integer"),
    case("stylize-size-tiny", STYLIZE + " --size 4", "a fast model needs at least 16 px"),
    case("stylize-full-disk", STYLIZE, "No space left on device", setup=full_disk),
    case(
        "stylize-real-read-only",
        "stylize {model} {photo} -o {tmp}/fs/out.png --size 48",
        "Read-only file system",
        setup=real_read_only,
    ),
    case(
        "stylize-real-full-disk",
        "stylize {model} {photo} -o {tmp}/fs/out.png --size 48",
        "No space left on device",
        setup=real_full_disk,
    ),
    case("stylize-two-photos-of-one-name", "stylize {model} {a}/photo.png {b}/photo.png -o {outdir}", "both write"),
    case("stylize-size-beyond-memory", "stylize {model} {photo} -o {out} --size 100000", "choose a smaller size"),
    case("stylize-model-pickled", "stylize {pickled_pt} {photo} -o {out}", "not a stylekit fast model"),
    # train
    case("train-style-missing", "train {tmp}/nope.png -o {model_out}" + R, "nope.png: no such file"),
    case("train-style-not-an-image", "train {notes} -o {model_out}" + R, "not an image Pillow can read"),
    case("train-style-decompression-bomb", "train {bomb} -o {model_out}" + R, "decompression bomb"),
    case("train-style-too-small", "train {tiny} -o {model_out}" + R, "8×8 px; images need at least 16"),
    case("train-photos-missing", TRAIN + " --photos {tmp}/nowhere", "nowhere: no such file or folder"),
    case("train-photos-unreadable", TRAIN + " --photos {junk}", "no readable image to train on"),
    case("train-output-not-pt", "train {style} -o {tmp}/model.png" + R, "output must be a .pt file"),
    case("train-output-folder-missing", "train {style} -o {tmp}/missing/m.pt" + R, "does not exist"),
    case("train-size-below-64", TRAIN + " --size 32", "size must be an integer >= 64"),
    case("train-steps-zero", TRAIN + " --steps 0", "steps, batch >= 1"),
    case("train-batch-zero", TRAIN + " --batch 0", "steps, batch >= 1"),
    case("train-lr-nan", TRAIN + " --lr nan", "lr must be a finite number > 0"),
    case("train-lr-negative", TRAIN + " --lr -0.001", "lr must be a finite number > 0"),
    case("train-style-weight-negative", TRAIN + " --style-weight -1", "style_weight must be a finite number >= 0"),
    case("train-style-size-zero", TRAIN + " --style-size 0", "size must be a positive integer"),
    case("train-style-size-tiny", TRAIN + " --style-size 8", "training needs at least 16 px"),
    case("train-precision-fp16", TRAIN + " --precision fp16", "invalid choice: 'fp16'"),
    case("train-damaged-checkpoint", "train {style} -o {tmp}/m2.pt" + R, "not a stylekit fast model"),
    case("train-full-disk", TRAIN, "No space left on device", setup=full_disk),
    case("train-real-full-disk", "train {style} -o {tmp}/fs/m.pt" + R, "No space left on device", setup=real_full_disk),
    case("train-real-read-only", "train {style} -o {tmp}/fs/m.pt" + R, "Read-only file system", setup=real_read_only),
    # universal
    case("universal-photo-missing", "universal {tmp}/nope.png {style} -o {out}", "nope.png: no such file"),
    case("universal-style-not-an-image", "universal {photo} {notes} -o {out} --size 48", "not an image Pillow can"),
    case("universal-style-decompression-bomb", "universal {photo} {bomb} -o {out} --size 48", "decompression bomb"),
    case(
        "universal-too-small-for-its-level",
        UNIVERSAL.replace("48", "3") + " --levels relu3_1",
        "relu3_1 needs at least 4 px",
    ),
    case("universal-mask-misspelt", UNIVERSAL + " --mask persn", "mask must be person, background or an image file"),
    case(
        "universal-mask-background-none-there",
        "universal {style} {photo} -o {out} --size 48 --mask background",
        "no person found",
    ),
    case("universal-flat-style", "universal {photo} {flat} -o {out} --size 48", "is flat"),
    case("universal-flat-photo", "universal {flat} {style} -o {out} --size 48", "is flat"),
    case("universal-no-decoders-there", UNIVERSAL + " --decoders {empty}", "no decoders in"),
    case("universal-foreign-decoder", UNIVERSAL + " --decoders {fake_decoders}", "not a stylekit decoder"),
    case("universal-unknown-level", UNIVERSAL + " --levels relu9_1", "invalid choice: 'relu9_1'"),
    case("universal-strength-above-one", UNIVERSAL + " --strength 1.5", "strength must be between 0 and 1"),
    case("universal-output-is-the-style", "universal {photo} {style} -o {style}", "is also an input"),
    case("universal-full-disk", UNIVERSAL, "No space left on device", setup=full_disk),
    case(
        "universal-real-read-only",
        "universal {photo} {style} -o {tmp}/fs/out.png --size 48",
        "Read-only file system",
        setup=real_read_only,
    ),
    case("universal-size-beyond-memory", "universal {photo} {style} -o {out} --size 100000", "choose a smaller size"),
    case(
        "universal-decoder-of-another-level",
        UNIVERSAL + " --decoders {renamed_decoders} --levels relu2_1",
        "decoder_relu2_1.pt: a decoder for relu1_1, not relu2_1",
    ),
    # train-decoders
    case("train-decoders-photos-missing", DECODERS + " --photos {tmp}/nowhere", "nowhere: no such file or folder"),
    case("train-decoders-size-below-64", DECODERS + " --size 32", "size must be an integer >= 64"),
    case("train-decoders-out-missing", DECODERS + " --out {tmp}/missing", "does not exist"),
    case("train-decoders-lr-nan", DECODERS + " --lr nan", "lr must be a finite number > 0"),
    case("train-decoders-never-replaces-one", DECODERS.replace("{outdir}", "{fake_decoders}"), "exists: give --out"),
    # video
    case("video-not-a-video", "video {notes_mp4} {style} -o {video_out}" + V, "not a video this FFmpeg can decode"),
    case("video-truncated", "video {cut_mp4} {style} -o {video_out}" + V, "not a video this FFmpeg can decode"),
    case("video-missing", "video {tmp}/nope.mp4 {style} -o {video_out}" + V, "nope.mp4: no such file or folder"),
    case("video-folder-without-frames", "video {empty} {style} -o {video_out}" + V, "a folder without image frames"),
    # Frame 1 is styled and kept in e.frames for a rerun, as after Ctrl-C; frame 2 is refused.
    case(
        "video-frames-change-size",
        "video {mixed} {style} -o {tmp}/e.mp4" + V,
        "frame 2 is 24×32 px after resizing, frame 1 32×24",
        leaves=("e.frames",),
    ),
    case("video-style-missing", "video {clip} {tmp}/nope.png -o {video_out}" + V, "nope.png: no such file"),
    case("video-model-junk", "video {clip} -o {video_out} --model {junk_pt} --size 32", "not a stylekit fast model"),
    case("video-style-and-model", VIDEO + " --model {model}", "give STYLE image(s) or --model, one of the two"),
    case("video-output-is-the-input", "video {clip} {style} -o {clip}" + V, "is also an input"),
    case("video-output-is-the-style", "video {clip} {style} -o {style}" + V, "style.png is a file"),
    case("video-output-avi", "video {clip} {style} -o {tmp}/out.avi" + V, "must be an .mp4 file or a folder"),
    case("video-output-folder-missing", "video {clip} {style} -o {tmp}/missing/out.mp4" + V, "does not exist"),
    case("video-frames-of-other-settings", "video {clip} {style} -o {tmp}/other.mp4" + V, "made with other settings"),
    case("video-temporal-weight-negative", VIDEO + " --temporal-weight -1", "temporal_weight must be a finite number"),
    case("video-blend-above-one", "video {clip} -o {video_out} --model {model} --blend 1.5", "blend must be between 0"),
    case("video-fps-nan", "video {mixed} {style} -o {tmp}/f --fps nan" + V, "fps must be a finite number > 0"),
    case("video-steps-zero", VIDEO + " --steps 0", "steps must be an integer >= 1"),
    case("video-style-weight-nan", VIDEO + " --style-weight nan", "style_weight must be a finite number"),
    case("video-scales-not-the-steps", "video {clip} {style} -o {video_out} --size 32 --scales 3", "scales is 3"),
    # The work folder out.frames is made, with its settings.json alone: no frame, whole or half.
    case("video-full-disk", VIDEO, "No space left on device", setup=full_disk, leaves=("out.frames",)),
    case("video-read-only", "video {clip} {style} -o {ro}/out.mp4" + V, "Read-only file system", setup=read_only),
    case(
        "video-real-read-only",
        "video {clip} {style} -o {tmp}/fs/out.mp4" + V,
        "Read-only file system",
        setup=real_read_only,
    ),
    case("video-work-folder-is-the-input", "video {in_frames} {style} -o {tmp}/in.mp4" + V, "is also an input"),
    # batch
    case("batch-content-missing", "batch {tmp}/nope.png --style {style} -o {outdir}", "nope.png: no such file"),
    case("batch-content-glob-matches-nothing", "batch {tmp}/*.tiff --style {style} -o {outdir}", "no such file"),
    case("batch-style-missing", "batch {photo} --style {tmp}/nope.png -o {outdir}", "nope.png: no such file"),
    case("batch-output-folder-missing", "batch {photo} --style {style} -o {tmp}/missing", "does not exist"),
    case("batch-neither-style-nor-model", "batch {photo} -o {outdir}", "give --style image(s) or --model, one of"),
    case("batch-model-of-another-network", "batch {photo} --model {foreign_pt} -o {outdir}", "not a stylekit fast"),
    case("batch-two-items-one-output", "batch {a}/photo.png {b}/photo.png --style {style} -o {outdir}", "both write"),
    case("batch-style-weight-nan", BATCH + " --style-weight nan", "style_weight must be a finite number"),
    case("batch-strength-above-one", FAST_BATCH + " --strength 2", "strength must be between 0 and 1"),
    case("batch-colours-match-with-a-model", FAST_BATCH + " --colours match", "colours must be style or luminance"),
    case("batch-size-zero-with-a-model", FAST_BATCH + " --size 0", "size must be a positive integer"),
    case("batch-full-disk", FAST_BATCH, "No space left on device", setup=full_disk),
    case("batch-read-only", "batch {photo} --model {model} -o {ro} --size 48", "Read-only file", setup=read_only),
    case(
        "batch-real-read-only",
        "batch {photo} --model {model} -o {tmp}/fs --size 48",
        "Read-only file system",
        setup=real_read_only,
    ),
    case(
        "batch-output-is-another-input",
        "batch {photo} {outdir}/photo__style.png --style {style} -o {outdir}",
        "photo__style.png is also an input",
    ),
    # the API
    call(
        "api-transfer-nan-content",
        api(lambda w: stylekit.transfer(torch.full((1, 3, 32, 32), torch.nan), w["style"], **SMALL)),
        "the content image has NaN or infinite values",
    ),
    call(
        "api-transfer-tensor-of-four-channels",
        api(lambda w: stylekit.transfer(torch.rand(1, 4, 32, 32), w["style"], **SMALL)),
        "the content image is a tensor of shape (1, 4, 32, 32)",
    ),
    call(
        "api-transfer-unknown-setting",
        api(lambda w: stylekit.transfer(w["photo"], w["style"], stlye_weight=3, **SMALL)),
        "unknown setting(s): stlye_weight",
    ),
    call(
        "api-transfer-unknown-preset",
        api(lambda w: stylekit.transfer(w["photo"], w["style"], "fancy", **SMALL)),
        "'fancy'",
    ),
    call("api-stylize-size-negative", api(lambda w: stylekit.stylize(MODEL, w["photo"], size=-3)), "size must be a"),
    call(
        "api-train-lr-inf",
        api(lambda w: stylekit.train_fast(w["style"], w["photos"], lr=float("inf"), **SMALL_TRAIN)),
        "lr must be a finite number > 0",
    ),
    call(
        "api-video-neither-style-nor-model",
        api(lambda w: stylekit.video(CLIP, None, w["tmp"] / "v.mp4", **SMALL_VIDEO)),
        "give a style image or a fast model",
    ),
    call(
        "api-result-saved-into-a-missing-folder",
        api(lambda w: Result(torch.rand(1, 3, 8, 8), {}, {}).save(w["tmp"] / "missing" / "r.png")),
        "No such file or directory",
    ),
    call(
        "api-transfer-size-a-float",
        api(lambda w: stylekit.transfer(w["photo"], w["style"], **{**SMALL, "size": 48.5})),
        "size must be a positive integer or [width, height], not 48.5",
    ),
    call(
        "api-transfer-content-a-number",
        api(lambda w: stylekit.transfer(123, w["style"], **SMALL)),
        "the content image must be a file path, a PIL image or a (1, 3, H, W) tensor, not int",
    ),
    call(
        "api-transfer-callback-every-zero",
        api(lambda w: stylekit.transfer(w["photo"], w["style"], callback_every=0, **SMALL)),
        "callback_every must be an integer >= 1, not 0",
    ),
    call(
        "api-universal-mask-a-number",
        api(lambda w: stylekit.universal(w["photo"], w["style"], size=48, mask=7)),
        "the mask image must be a file path",
    ),
    call(
        "api-result-saved-as-an-unknown-format",
        api(lambda w: Result(torch.rand(1, 3, 8, 8), {}, {}).save(w["tmp"] / "r.xyz")),
        "cannot write a .xyz file",
    ),
    call("api-read-settings-damaged-json", api(lambda w: stylekit.read_settings(w["badjson"])), "settings are damaged"),
    # the playground's uploads
    call("playground-content-junk", playground_upload("content", b"junk", "junk.png"), "junk.png: not an image"),
    call("playground-style-too-small", playground_upload("style", _png_bytes(8, 8), "dot.png"), "8×8 px; images need"),
    call(
        "playground-content-truncated",
        playground_upload("content", _png_bytes(64, 48)[:60], "cut.png"),
        "cut.png: cannot read image",
    ),
    call(
        "playground-style-decompression-bomb",
        playground_upload("style", _bomb_bytes(), "bomb.png"),
        "bomb.png: more than",
    ),
    call("instant-photo-not-an-image", instant_upload(b"junk", "junk.jpg"), "junk.jpg: not an image"),
    call("instant-photo-too-small", instant_upload(_png_bytes(8, 8), "dot.png"), "the photo image is 8×8 px"),
]


@pytest.fixture(autouse=True)
def quiet_progress(monkeypatch):
    """Progress bars are written to stderr too; they are not messages, so they are off here."""
    import tqdm.auto

    def quiet(*args, **kwargs):
        return tqdm.auto.tqdm(*args, **{**kwargs, "disable": True})

    monkeypatch.setattr(importlib.import_module("stylekit.steps"), "tqdm", quiet)  # every loop's bar


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gives_one_line_and_changes_nothing(case, tmp_path, monkeypatch, capsys, request):
    world = make_world(tmp_path)
    argv = [arg.format(**world) for arg in case.argv.split()]
    if case.setup is not None:
        case.setup(world, monkeypatch)
    before, data = snapshot(tmp_path), data_hashes(argv)
    if case.call is not None:
        line = case.call(world, request)
    else:
        try:
            code = main(argv)
        except BaseException:  # what the user would see as a traceback
            pytest.fail(f"main({argv}) raised:\n{traceback.format_exc()}")
        err = capsys.readouterr().err
        assert code == 2, err
        assert len(err.strip().splitlines()) == 1 and err.startswith("stylekit: error: "), err
        line = err.strip()
    assert "\n" not in line and "Traceback" not in line and case.message in line, line
    after = snapshot(tmp_path)
    changed = [path for path in before if after.get(path, "gone") != before[path]]
    assert not changed, f"inputs or earlier outputs changed or gone: {changed}"
    new = [path for path in after if path not in before]
    assert all(any(path == left or path.startswith(left + "/") for left in case.leaves) for path in new), new
    assert not [path for path in after if path.endswith(".tmp") or ".tmp." in Path(path).name]
    assert data_hashes(argv) == data, "a bundled input in stylekit/data/ changed"
