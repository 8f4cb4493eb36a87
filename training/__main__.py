"""One entry point: ``python -m training {import_base,train,latency,refit,compare,repack} ...``."""
from __future__ import annotations

import sys


def main() -> None:
    commands = {"import_base": "training.import_base", "train": "training.pipeline", "latency": "training.latency",
                "refit": "training.refit", "compare": "training.compare", "repack": "training.repack"}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(f"usage: python -m training {{{','.join(commands)}}} [options]  (-h for a command's options)", file=sys.stderr)
        raise SystemExit(2)
    args = sys.argv[2:]
    target = commands[sys.argv[1]]
    if sys.argv[1] == "train" and "--quick" in args:  # the same-day path: frozen encoder, new heads
        target, args = "training.quick", [a for a in args if a != "--quick"]
    module = __import__(target, fromlist=["main"])
    module.main(args)


if __name__ == "__main__":
    main()
