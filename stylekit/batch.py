"""Batch runs: every content image (or video) × every style into one folder, resumable, one failure never stopping
the rest; on this machine, item after item, or as Ray tasks on a cluster (``ray_address``). A video is one item
(one task), which writes its .mp4 itself: on a cluster, give an output folder all machines share.

An output whose PNG already holds the settings it would be made with is skipped, so a rerun resumes. Each item
is scored with ``judge`` and timed; ``summary.csv`` in the folder has one row per item. Ctrl-C stops the batch: the
item in flight is not recorded as done (a transfer's latest image is kept as ``<output>.partial.png``), and a rerun
makes it again.
"""

import csv
import glob
import json
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import images
from .errors import ImageError, StylekitError, need
from .fast import cached_fast, check_options, recorded_settings, stylize
from .judge import judge
from .measure import PeakMemory
from .settings import resolve
from .steps import Steps
from .transfer import transfer
from .video import video

VIDEOS = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v"}  # a video is one item: stylekit.video, one task
RETRIES = 3  # Ray runs an item again when its worker process dies, this many times
COLUMNS = ("content", "style", "output", "status", "seconds", "added_mb", "content_error", "style_error", "message")


@dataclass
class Item:
    content: str
    style: str  # a style image, or the fast model's name or file
    output: str
    settings: dict = field(default_factory=dict)  # what the output's PNG will hold
    status: str = "pending"  # then 'done', 'skipped', 'failed' or 'interrupted' (Ctrl-C)
    seconds: float = None
    added_mb: float = None  # what the item added to its process's resident memory at its peak
    content_error: float = None
    style_error: float = None
    message: str = ""


def expand(sources):
    """Files, folders (their images, sorted) and glob patterns, as a list of paths; a source that matches nothing
    is an error."""
    paths = []
    for source in sources:
        source = str(source)
        matches = sorted(glob.glob(source)) if glob.has_magic(source) else [source]
        if not matches or not all(Path(m).exists() for m in matches):
            raise ImageError(f"{source}: no such file or folder")
        for match in map(Path, matches):
            if match.is_dir():
                paths += sorted(p for p in match.iterdir() if p.suffix.lower() in images.SUFFIXES | VIDEOS)
            else:
                paths.append(match)
    return paths


def plan(contents, styles, folder, preset="default", model=None, **settings):
    """One ``Item`` per content × style (or per content with a fast ``model``), named ``content__style.png``."""
    folder = Path(folder)
    styles = [model] if model is not None else expand(styles)
    fast_style = cached_fast(model).style if model is not None else None
    fast = {k: v for k, v in settings.items() if k in ("size", "strength", "colours")}
    if model is not None:  # what would fail every item is refused once, before any is run
        check_options(**fast)
    items, contents = [], expand(contents)
    for content in contents:
        for style in styles:
            name = Path(str(style)).stem.removeprefix("style_")
            output = folder / f"{content.stem}__{name}{'.mp4' if _is_video(content) else '.png'}"
            if _is_video(content):
                expected = {}  # video() keeps its frames and checks its settings itself
            elif model is not None:
                expected = recorded_settings(fast_style, str(content), **fast)
            else:
                expected = resolve(preset, settings).describe(str(content), str(style))
            items.append(Item(str(content), str(style), str(output), json.loads(json.dumps(expected))))
    images.check_outputs([item.output for item in items], [*contents, *styles])
    return items


def batch(contents, styles, folder, preset="default", *, model=None, ray_address=None, progress=True, **settings):
    """Runs every item of ``plan`` not done already; returns the items with their status and measurements."""
    folder = Path(folder)
    if not folder.is_dir():
        raise StylekitError(f"output folder {folder} does not exist")
    items = plan(contents, styles, folder, preset, model, **settings)
    for item in items:
        if _already_made(item):
            item.status = "skipped"
    todo = [item for item in items if item.status == "pending"]
    job = dict(preset=preset, model=model, settings=settings)
    results = _ray_results(todo, job, _ray(ray_address)) if ray_address is not None else _local_results(todo, job)
    with Steps(len(todo), progress=progress, desc="batch", unit="item") as steps:
        for item, (image, measured) in results:
            interrupted = measured["status"] == "interrupted"
            if image is not None:  # saved before the item is recorded: Ctrl-C here leaves it pending
                images.save_png(image, partial(item) if interrupted else item.output, item.settings)
            vars(item).update(measured)
            if item.status == "done":
                partial(item).unlink(missing_ok=True)  # an earlier run's, interrupted
            write_summary(items, folder / "summary.csv")
            if item.status == "interrupted":
                raise KeyboardInterrupt  # Ctrl-C reached the item's transfer: the batch ends as it would anywhere else
            steps.record({})
    write_summary(items, folder / "summary.csv")
    return items


def partial(item):
    """Where an interrupted item's latest image is kept: beside its output, under a name no rerun takes as done."""
    output = Path(item.output)
    return output.with_name(f"{output.stem}.partial.png")


def run_item(item, job):
    """(the image or None, measurements) of one item; any error is caught and named, never raised."""
    started, peak = time.perf_counter(), PeakMemory()
    try:
        with peak:
            if _is_video(item.content):
                run = video(item.content, None if job["model"] else item.style, item.output, job["preset"],
                            model=job["model"], progress=False, **job["settings"])  # fmt: skip
                status = "interrupted" if run.stopped else "done" if run.seconds else "skipped"
                return None, dict(status=status, seconds=time.perf_counter() - started, added_mb=peak.added_mb)
            if job["model"] is not None:
                settings = {k: v for k, v in job["settings"].items() if k in ("size", "strength", "colours")}
                image = stylize(cached_fast(job["model"]), item.content, **settings).image
            else:
                result = transfer(item.content, item.style, job["preset"], progress=False, **job["settings"])
                if result.stopped:  # Ctrl-C: the latest image, not a finished one
                    return result.image, dict(status="interrupted", seconds=time.perf_counter() - started)
                image = result.image
        seconds = time.perf_counter() - started
        scores = judge(image, item.content, item.style) if job["model"] is None else {}
        return image, dict(status="done", seconds=seconds, added_mb=peak.added_mb, content_error=scores.get("content"),
                           style_error=scores.get("style"))  # fmt: skip
    except StylekitError as e:
        return None, dict(status="failed", message=str(e))
    except Exception as e:  # an item's bug or a lack of memory must not end the batch
        where = traceback.extract_tb(e.__traceback__)[-1]
        place = f"{Path(where.filename).name}:{where.lineno}"
        return None, dict(status="failed", message=f"{type(e).__name__}: {e} ({place})")


def _local_results(items, job):
    for item in items:
        yield item, run_item(item, job)


def _ray(address):
    """The ray module, connected to the cluster at ``address`` (or already connected)."""
    ray = need("ray", "--ray")
    if not ray.is_initialized():
        try:
            ray.init(address=address or None, logging_level="ERROR")
        except ConnectionError as e:
            raise StylekitError(f"cannot reach a Ray cluster at {address or 'RAY_ADDRESS / auto'}: {e}") from None
    return ray


def _ray_results(items, job, ray):
    """Items as Ray tasks, one per CPU (or GPU); results arrive in the order they finish. A task whose worker dies
    is retried by Ray; the driver alone writes outputs, so no output is written twice."""
    gpus = 1 if ray.cluster_resources().get("GPU") else 0
    remote = ray.remote(num_cpus=1, num_gpus=gpus, max_retries=RETRIES)(run_item)
    pending = {remote.remote(item, job): item for item in items}
    try:
        while pending:
            [ready], _ = ray.wait(list(pending), num_returns=1)
            item = pending.pop(ready)
            try:
                yield item, ray.get(ready)
            except ray.exceptions.RayError as e:  # retries exhausted: the worker kept dying
                message = f"{type(e).__name__}: its worker died {RETRIES + 1} times"
                yield item, (None, dict(status="failed", message=message))
    finally:  # Ctrl-C, or a failure here: the tasks not done yet are not left running on the cluster
        for ref in pending:
            ray.cancel(ref)


def _is_video(path):
    return Path(path).suffix.lower() in VIDEOS


def _already_made(item):
    if _is_video(item.content):
        return False  # video() resumes frame by frame
    try:
        return Path(item.output).is_file() and images.read_settings(item.output) == item.settings
    except (ImageError, json.JSONDecodeError):
        return False


def write_summary(items, path):
    """The CSV, written atomically so that a kill in the middle leaves the previous one."""
    with images.atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(asdict(item) for item in items)


def summary_table(items):
    """A short plain-text table of the items, and the counts."""
    counts = {s: sum(i.status == s for i in items) for s in ("done", "skipped", "failed", "interrupted", "pending")}
    lines = [f"{'content':<24} {'style':<16} {'status':<8} {'s':>7} {'+MB':>6} {'content':>8} {'style':>8}"]
    for i in items:
        columns = ((i.seconds, 7, 1), (i.added_mb, 6, 0), (i.content_error, 8, 3), (i.style_error, 8, 4))
        numbers = [f"{v:>{w}.{p}f}" if v is not None else " " * w for v, w, p in columns]
        lines.append(f"{Path(i.content).name[:24]:<24} {Path(i.style).stem[:16]:<16} {i.status:<8} {' '.join(numbers)}"
                     + (f"  {i.message}" if i.message else ""))  # fmt: skip
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items() if n or s in ("done", "skipped", "failed")))
    return "\n".join(lines)
