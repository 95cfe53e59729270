import collections
import csv
import os
import signal
import sys
import threading
import time
import types
from pathlib import Path

import pytest
from PIL import Image

from stylekit import batch as batch_module
from stylekit.batch import batch, expand
from stylekit.cli import main
from stylekit.errors import ImageError
from stylekit.images import load_image
from stylekit.judge import judge
from stylekit.measure import resident_mb
from stylekit.samples import DATA

TINY = dict(size=32, steps=[2, 1])  # as the CLI test gives them


@pytest.fixture
def inputs(tmp_path, photo, texture):
    contents = tmp_path / "contents"
    contents.mkdir()
    for name, colour in (("red", (200, 40, 40)), ("blue", (40, 40, 200))):
        Image.new("RGB", (48, 36), colour).save(contents / f"{name}.png")
    (contents / "broken.png").write_bytes(photo.read_bytes()[:100])  # truncated: fails, the others go on
    out = tmp_path / "out"
    out.mkdir()
    return contents, texture, out


def rows(folder):
    with open(folder / "summary.csv") as f:
        return {Path(r["content"]).name: r for r in csv.DictReader(f)}


def test_sources_are_files_folders_and_globs(inputs, photo):
    contents = inputs[0]
    assert [p.name for p in expand([contents])] == ["blue.png", "broken.png", "red.png"]
    assert [p.name for p in expand([str(contents / "r*.png"), photo])] == ["red.png", "photo.png"]
    with pytest.raises(ImageError, match=r"nope\.png: no such file or folder"):
        expand([contents / "nope.png"])


def test_a_bad_item_fails_alone_and_a_rerun_skips_what_is_done(inputs, capsys):
    contents, texture, out = inputs
    started = time.perf_counter()
    code = main(["batch", str(contents), "--style", str(texture), "-o", str(out), "--size", "32", "--steps", "2,1"])
    wall = time.perf_counter() - started
    printed = capsys.readouterr().out
    assert code == 1 and "2 done, 0 skipped, 1 failed" in printed
    table = rows(out)
    assert table["broken.png"]["status"] == "failed" and "cannot read image" in table["broken.png"]["message"]
    done = sorted(p.name for p in out.glob("*.png"))
    assert done == ["blue__texture.png", "red__texture.png"]
    assert sum(float(table[name]["seconds"]) for name in ("blue.png", "red.png")) < wall  # each item's own time
    # What each item added to the process at its peak, not the process's own size (torch alone is more): a 32 px
    # transfer needs a few MB, VGG19's weights 80 MB where the item is the first to load them.
    added = [float(table[name]["added_mb"]) for name in ("blue.png", "red.png")]
    assert all(0 <= mb < 400 for mb in added) and resident_mb() > 600, added
    judged = judge(load_image(out / "red__texture.png"), contents / "red.png", texture)  # what the CSV says, again
    for axis in ("content", "style"):
        assert float(table["red.png"][f"{axis}_error"]) == pytest.approx(judged[axis], rel=0.05)  # PNG's rounding
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("*.png")}
    again = batch([contents], [texture], out, progress=False, **TINY)
    assert [i.status for i in again] == ["skipped", "failed", "skipped"]
    assert {p: p.stat().st_mtime_ns for p in out.glob("*.png")} == stamps
    changed = batch([contents / "red.png"], [texture], out, progress=False, **{**TINY, "style_weight": 3.0})
    assert [i.status for i in changed] == ["done"]  # other settings: made again


def test_fast_model_batch(inputs, photo, tmp_path):
    from stylekit import train_fast

    contents, texture, out = inputs
    model = train_fast(texture, [photo], size=64, steps=1, batch=1, style_size=64, progress=False)
    path = model.save(tmp_path / "m.pt")
    items = batch([contents / "red.png", contents / "blue.png"], [], out, model=str(path), size=40, progress=False)
    assert [i.status for i in items] == ["done", "done"] and (out / "red__m.png").exists()


def test_a_video_is_one_item(inputs):
    _, texture, out = inputs
    clip = DATA / "clip_coffee.mp4"
    first = batch([clip], [texture], out, progress=False, size=32, steps=1)
    assert [i.status for i in first] == ["done"] and (out / "clip_coffee__texture.mp4").exists()
    assert [i.status for i in batch([clip], [texture], out, progress=False, size=32, steps=1)] == ["skipped"]


def test_ray_without_ray_installed_says_how_to_get_it(inputs, monkeypatch, capsys):
    contents, texture, out = inputs
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    code = main(["batch", str(contents / "red.png"), "--style", str(texture), "-o", str(out), "--ray"])
    assert code == 2 and 'pip install "stylekit[ray]"' in capsys.readouterr().err


def _count_attempts(path):
    """Runs in each Ray worker as it starts: every attempt at an item first appends the item's content to ``path``."""
    original = batch_module.run_item

    def counted(item, job):
        with open(path, "a") as f:
            f.write(f"{os.getpid()} {item.content}\n")
        hold = Path(path + ".hold")
        while hold.exists() and hold.read_text() == item.content:  # held until the test kills this attempt
            time.sleep(0.05)
        return original(item, job)

    batch_module.run_item = counted


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    """A local Ray whose workers record each attempt at an item: ``attempts()`` counts them by content,
    ``started()`` lists (process id, content) of each attempt, in the order they started; ``hold(content)`` keeps
    the attempts at that item waiting, once started, until ``release()``."""
    ray = pytest.importorskip("ray")
    path = tmp_path_factory.mktemp("ray") / "attempts.txt"
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the hook travels to workers by value
    hook = lambda: _count_attempts(str(path))  # noqa: E731
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR",
             runtime_env={"worker_process_setup_hook": hook})  # fmt: skip

    def records():
        return [line.split(" ", 1) for line in path.read_text().splitlines()] if path.exists() else []

    hold = Path(f"{path}.hold")
    yield types.SimpleNamespace(attempts=lambda: collections.Counter(c for _, c in records()),
                                started=lambda: [(int(pid), c) for pid, c in records()],
                                hold=hold.write_text, release=lambda: hold.unlink(missing_ok=True))  # fmt: skip
    ray.shutdown()


def test_on_ray_a_killed_worker_is_retried_and_its_item_written_once(local_ray, inputs, monkeypatch, tmp_path):
    contents, texture, out = inputs
    for i in range(4):
        Image.new("RGB", (48, 36), (60 * i, 100, 50)).save(contents / f"more{i}.png")
    written = []
    save = batch_module.images.save_png

    def counting_save(image, path, settings=None):
        written.append(path)
        return save(image, path, settings)

    monkeypatch.setattr(batch_module.images, "save_png", counting_save)
    killed, victim = [], str(contents / "more0.png")
    local_ray.hold(victim)  # its first attempt waits, once started, for the kill: no race with the item's end

    def kill_the_held_worker():
        try:
            deadline = time.time() + 120  # a bound on a hang, not a race: the attempt waits for this
            while not killed and time.time() < deadline:
                held = [pid for pid, content in local_ray.started() if content == victim]
                if held:
                    os.kill(held[0], signal.SIGKILL)
                    killed.append(held[0])
                time.sleep(0.05)
        finally:
            local_ray.release()  # the retry runs to the end

    killer = threading.Thread(target=kill_the_held_worker)
    killer.start()
    items = batch([contents], [texture], out, ray_address="", progress=False, size=32, steps=[20, 10], precision="fp32")
    killer.join()
    assert killed, "no Ray worker was seen running an item"
    statuses = {Path(i.content).name: i.status for i in items}
    assert statuses.pop("broken.png") == "failed" and set(statuses.values()) == {"done"}
    assert len(written) == len(set(written)) == 6  # each output written once, by the driver
    attempts = local_ray.attempts()
    retried = [content for content, count in attempts.items() if count > 1]
    assert retried == [victim] and attempts[victim] == 2, attempts  # the killed attempt and its retry
    made = [p for p in out.iterdir() if p.name.startswith(Path(retried[0]).stem + "__")]
    assert len(made) == 1 and not [p for p in out.iterdir() if ".tmp" in p.name]


def test_ctrl_c_stops_the_batch_and_the_item_in_flight_is_made_again(inputs, monkeypatch, capsys):
    """Ctrl-C in an item's transfer: the item is not recorded as done (its latest image kept as a partial), the
    batch stops with 130, and a rerun makes it and the rest."""
    contents, style, out = inputs
    real = batch_module.transfer

    def pressed_at_step_2(*args, **kwargs):  # as a terminal's Ctrl-C arrives: a KeyboardInterrupt inside a step
        def press(step, losses, image):
            if step == 2:
                raise KeyboardInterrupt

        return real(*args, callback=press, callback_every=1, **kwargs)

    monkeypatch.setattr(batch_module, "transfer", pressed_at_step_2)
    argv = ["batch", str(contents / "blue.png"), str(contents / "red.png"), "--style", str(style), "-o", str(out),
            "--size", "32", "--steps", "4", "--scales", "1"]  # fmt: skip
    assert main(argv) == 130
    assert "interrupted" in capsys.readouterr().err
    status = {name: row["status"] for name, row in rows(out).items()}
    assert status == {"blue.png": "interrupted", "red.png": "pending"}, status
    assert sorted(p.name for p in out.glob("*.png")) == ["blue__texture.partial.png"]
    monkeypatch.setattr(batch_module, "transfer", real)
    assert main(argv) == 0
    assert {row["status"] for row in rows(out).values()} == {"done"}
    assert sorted(p.name for p in out.glob("*.png")) == ["blue__texture.png", "red__texture.png"]


def test_an_item_named_as_another_items_output_is_refused_before_any_work(inputs, capsys):
    contents, style, out = inputs
    taken = out / "blue__texture.png"  # item 1's output name, given as item 2's content
    Image.new("RGB", (48, 36), (10, 200, 10)).save(taken)
    before = taken.read_bytes()
    assert main(["batch", str(contents / "blue.png"), str(taken), "--style", str(style), "-o", str(out)]) == 2
    assert "blue__texture.png is also an input" in capsys.readouterr().err
    assert taken.read_bytes() == before and not (out / "summary.csv").exists()
