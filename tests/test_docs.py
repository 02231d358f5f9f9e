"""docs/gradients.md links equations to lines of network.py: each link must still hold its quoted code."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\[`(?P<code>[^`]+)`\]\(\.\./nnapp/core/network\.py#L(?P<line>\d+)\)")


def test_every_linked_line_holds_the_quoted_code():
    lines = (ROOT / "nnapp/core/network.py").read_text().splitlines()
    links = list(LINK.finditer((ROOT / "docs/gradients.md").read_text()))
    assert len(links) >= 15
    stale = [m["code"] for m in links if m["code"] not in lines[int(m["line"]) - 1]]
    assert not stale, f"docs/gradients.md links to lines that moved: {stale}"
