"""Reading a timeline picture (runner/timeline.py) back: its SVG and the marks of one kind."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET


def svg_of(html: str) -> ET.Element:
    found = re.search(r"<svg.*</svg>", html, re.S)
    assert found is not None, "no SVG in the page"
    return ET.fromstring(found.group(0))


def having(root: ET.Element, cls: str) -> list[ET.Element]:
    """The elements of a class (``window``, ``late``, ``session``, ...) under ``root``."""
    return [e for e in root.iter() if cls in e.get("class", "").split()]
