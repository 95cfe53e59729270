"""Every course notebook run as a student runs it in Colab, on this machine.

    python tests/colab/simulate.py                    # all notebooks, fast mode (CI runs this)
    python tests/colab/simulate.py 07 10 --venv /tmp/colab-venv   # some of them; keep the environment for next time

A clean virtual environment holds only the packages of a Colab runtime (tests/colab/packages.txt says which and
where the list comes from); a stand-in `google.colab` module, imported when Python starts as Colab's is, makes the
setup cell take its Colab branch, which `%pip install`s stylekit from the repository's git URL; git is told to
fetch that URL from this clone instead. pip installs committed work only, so a working tree with uncommitted
changes is refused: the notebooks would run without them. Each notebook runs under nbval from a folder of its own
outside the repository, in a fresh runtime as in Colab: what an earlier notebook installed is uninstalled first.
A notebook fails when any cell fails (the setup cell's install among them) and when it upgraded, downgraded or
replaced a package Colab ships (torch above all: Colab's own build would be gone).
"""

import argparse
import json
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PACKAGES = HERE / "packages.txt"
REPOSITORY = runpy.run_path(str(ROOT / "notebooks" / "build.py"))["REPOSITORY"]
STAND_IN = (
    '"""Stand-in for Colab\'s google.colab (tests/colab/simulate.py): its presence is what the setup cell reads."""\n'
)


def python_of(venv):
    return venv / "bin" / "python"


def packages(venv):
    listed = subprocess.check_output([python_of(venv), "-m", "pip", "list", "--format=json"], text=True)
    return {p["name"].lower(): p["version"] for p in json.loads(listed)}


def build(venv):
    """The venv with Colab's packages and the stand-in; reused when it was built the same way."""
    stamp, recipe = venv / "colab-recipe.txt", f"{sys.version}\n{STAND_IN}{PACKAGES.read_text()}"
    if stamp.is_file() and stamp.read_text() == recipe:
        return
    if venv.exists() and any(venv.iterdir()) and not stamp.is_file():
        raise SystemExit(f"{venv} exists and is not an environment this script built: give another --venv")
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([python_of(venv), "-m", "pip", "install", "-q", "-r", str(PACKAGES)], check=True)
    site = Path(subprocess.check_output([python_of(venv), "-c", "import site; print(site.getsitepackages()[0])"],
                                        text=True).strip())  # fmt: skip
    (site / "google" / "colab").mkdir(parents=True, exist_ok=True)
    (site / "google" / "colab" / "__init__.py").write_text(STAND_IN)
    (site / "colab_stand_in.pth").write_text("import google.colab\n")
    (venv / "colab-runtime.json").write_text(json.dumps(packages(venv)))
    stamp.write_text(recipe)


def reset(venv):
    """Back to the fresh runtime: what a notebook installed is removed, what it upgraded is put back."""
    fresh, now = json.loads((venv / "colab-runtime.json").read_text()), packages(venv)
    added = sorted(set(now) - set(fresh))
    changed = [f"{name}=={version}" for name, version in fresh.items() if now.get(name) != version]
    if added:
        subprocess.run([python_of(venv), "-m", "pip", "uninstall", "-q", "-y", *added], check=True)
    if changed:
        subprocess.run([python_of(venv), "-m", "pip", "install", "-q", "--no-deps", *changed], check=True)


def kernel_spec(venv, folder):
    spec = folder / "kernels" / "colab"
    spec.mkdir(parents=True)
    argv = [str(python_of(venv)), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "Colab (simulated)", "language": "python"})
    )


def notebooks(prefixes):
    found = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    chosen = [n for n in found if not prefixes or n.name[:2] in prefixes]
    if not chosen:
        raise SystemExit(f"no notebook starts with {', '.join(prefixes)}")
    return chosen


def changed_packages(venv):
    """The packages Colab ships that are no longer at Colab's version: ``name==version`` as now."""
    fresh, now = json.loads((venv / "colab-runtime.json").read_text()), packages(venv)
    return [f"{name}=={now.get(name, 'removed')}" for name, version in fresh.items() if now.get(name) != version]


def run(notebook, venv, work, env):
    """One notebook in a fresh runtime, from a folder of its own (Colab's /content): whether it passed."""
    reset(venv)
    content = work / f"content-{notebook.name[:2]}"
    content.mkdir()
    copy = shutil.copy(notebook, content)
    nbval = ["--nbval-lax", "--nbval-kernel-name=colab", "--nbval-cell-timeout=600"]
    command = [sys.executable, "-m", "pytest", "-c", str(work / "pytest.ini"), "-p", "no:cacheprovider", "-q",
               "--durations=3", *nbval, copy]  # fmt: skip
    env = env | {"TORCH_HOME": str(content / "torch")}  # a fresh runtime's empty cache
    passed = subprocess.run(command, cwd=work, env=env).returncode == 0
    changed = changed_packages(venv)
    if changed:
        print(f"{notebook.name} changed packages Colab ships: {', '.join(changed)}", file=sys.stderr)
    return passed and not changed


def environment(work):
    """The kernel's: nothing of this Python's, the suite's fast mode, and git told where the repository is."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "STYLEKIT_", "VIRTUAL_ENV"))}
    return env | {
        "JUPYTER_PATH": str(work / "jupyter"),
        "STYLEKIT_FAST": "1",  # the small size the suite uses
        "STYLEKIT_PRECISION": "fp32",  # the notebooks' checks hold in fp32 on every CPU kind (conftest.py)
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.file://{ROOT}.insteadOf",
        "GIT_CONFIG_VALUE_0": REPOSITORY,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", help="two-digit prefixes (default: every notebook)")
    parser.add_argument("--venv", type=Path, help="where to build (or reuse) the environment; default: a temporary one")
    args = parser.parse_args()
    chosen = notebooks(args.notebooks)
    if subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout.strip():
        raise SystemExit(
            "uncommitted changes: commit them first, the notebooks install the committed work (git status)"
        )
    with tempfile.TemporaryDirectory(prefix="colab-") as tmp:
        work = Path(tmp)
        venv = args.venv.resolve() if args.venv else work / "venv"
        build(venv)
        kernel_spec(venv, work / "jupyter")
        (work / "pytest.ini").write_text("[pytest]\n")
        env = environment(work)
        failed = [n.name for n in chosen if not run(n, venv, work, env)]
    print(f"simulated Colab: {len(chosen) - len(failed)} of {len(chosen)} notebooks ran", *failed, sep="\n  ")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
