"""One cold ``stylekit transfer``, timestamped between its phases: what benchmarks/gpu.py runs in a fresh process.

    python benchmarks/cold.py [--no-autotune] transfer CONTENT STYLE -o OUT.png --size 512 --device cuda

The arguments after the options are the command's. Prints, last, one JSON line of wall-clock times (``time.time()``,
comparable with the parent's clock): stylekit's command imported, the weights loaded, the targets made (the
stages built), the first step done, the last step done, the image saved; and the steps taken. Each time is read
after waiting for the GPU, but only once a phase: the steps after the first run as the command runs them.
"""

import json
import sys
import time


def main():
    autotune = "--no-autotune" not in sys.argv[1:2]
    argv = sys.argv[2:] if not autotune else sys.argv[1:]
    import torch

    import stylekit.cli as cli  # what the command imports before it reads a flag
    from stylekit import stages

    run = sys.modules["stylekit.transfer"]  # the module (``stylekit.transfer`` is the function)
    stamps, steps = {"imported": time.time()}, []

    def stamped(name, fn):
        def timed(*args, **kwargs):
            value = fn(*args, **kwargs)
            if name not in stamps:
                if torch.cuda.is_available():
                    torch.cuda.synchronize()
                stamps[name] = time.time()
                if name == "weights" and not autotune:
                    torch.backends.cudnn.benchmark = False  # cached_vgg turned it on: what it costs, measured
            return value

        return timed

    def counted(*args):
        steps.append(None)
        return take_step(*args)

    take_step = run.take_step
    stages.cached_vgg = stamped("weights", stages.cached_vgg)
    stages.build = stamped("targets", stages.build)
    run.take_step = stamped("first step", counted)
    cli.transfer = stamped("last step", cli.transfer)
    code = cli.main(argv)
    print(json.dumps({**stamps, "saved": time.time(), "steps": len(steps)}))
    return code


if __name__ == "__main__":
    sys.exit(main())
