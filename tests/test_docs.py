"""docs/backprop.md quotes the code that computes each formula: the quotes must stay true."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent


def quoted_code(markdown: str) -> list[tuple[str, str]]:
    """(file, code) for every ``minifw/...py`` — `code` (and `code`) reference."""
    pairs = []
    for paragraph in markdown.split("\n\n"):
        match = re.search(r"`(minifw/[\w/]+\.py)` —(.*)", paragraph, re.S)
        if match:
            path, rest = match.groups()
            pairs += [(path, code) for code in re.findall(r"`([^`]+)`", rest)]
    return pairs


def test_every_line_quoted_in_backprop_md_is_in_the_named_file():
    pairs = quoted_code((ROOT / "docs" / "backprop.md").read_text(encoding="utf-8"))
    assert len(pairs) >= 8
    for path, code in pairs:
        source = (ROOT / path).read_text(encoding="utf-8")
        assert code in source, f"{code!r} is no longer in {path}"
