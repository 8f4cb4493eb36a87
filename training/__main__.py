"""One entry point: ``python -m training {import_base,train} ...``."""
from __future__ import annotations

import sys


def main() -> None:
    commands = {"import_base": "training.import_base", "train": "training.pipeline", "latency": "training.latency",
                "refit": "training.refit"}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(f"usage: python -m training {{{','.join(commands)}}} [options]  (-h for a command's options)", file=sys.stderr)
        raise SystemExit(2)
    module = __import__(commands[sys.argv[1]], fromlist=["main"])
    module.main(sys.argv[2:])


if __name__ == "__main__":
    main()
