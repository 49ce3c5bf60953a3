"""docs/architecture.md names files a newcomer opens: each must exist (the map cannot drift)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
# A repository path: starts at a top-level package or folder, ends in .py or /.
PATH = re.compile(r"\b((?:bot|adapters|strategies|tests|bench|docs)/[\w/.]*?(?:\.py|\.md|/))(?=[\s`|),:])")


def named_paths(text: str) -> set[str]:
    return set(PATH.findall(text))


def test_the_doc_names_paths() -> None:
    assert len(named_paths(DOC.read_text(encoding="utf-8"))) > 40


def test_every_path_the_architecture_doc_names_exists() -> None:
    missing = sorted(p for p in named_paths(DOC.read_text(encoding="utf-8")) if not (ROOT / p).exists())
    assert not missing, f"docs/architecture.md names paths that do not exist: {missing}"


def test_a_missing_path_is_found() -> None:
    assert named_paths("see `bot/nowhere.py` and bot/pipeline/ |") == {"bot/nowhere.py", "bot/pipeline/"}
