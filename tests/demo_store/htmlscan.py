"""A tiny HTML reader for tests: elements by data-testid, with attributes and text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


@dataclass
class Element:
    """An element that carries a data-testid."""

    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list[Element] = field(default_factory=list)

    def find(self, testid: str) -> list[Element]:
        """Descendants with this testid."""
        found = []
        for child in self.children:
            if child.attrs.get("data-testid") == testid:
                found.append(child)
            found.extend(child.find(testid))
        return found

    def one(self, testid: str) -> Element:
        """Exactly one descendant with this testid."""
        found = self.find(testid)
        assert len(found) == 1, f"expected one {testid!r}, found {len(found)}"
        return found[0]


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("root", {})
        self.stack: list[tuple[str, Element | None]] = []
        self.open_elements: list[Element] = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        element = None
        if "data-testid" in values:
            element = Element(tag, values)
            self.open_elements[-1].children.append(element)
        if tag in VOID:
            return
        self.stack.append((tag, element))
        if element is not None:
            self.open_elements.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if "data-testid" in values:
            self.open_elements[-1].children.append(Element(tag, values))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            open_tag, element = self.stack.pop()
            if element is not None:
                self.open_elements.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self.open_elements[1:]:
            element.text += data


def scan(html: str) -> Element:
    """Parse a page; the root's find()/one() look up testids."""
    scanner = _Scanner()
    scanner.feed(html)
    for element in _walk(scanner.root):
        element.text = " ".join(element.text.split())
    return scanner.root


def _walk(element: Element) -> list[Element]:
    out = [element]
    for child in element.children:
        out.extend(_walk(child))
    return out


def amount(text: str) -> float:
    """'₹1,234.50' -> 1234.5"""
    match = re.search(r"-?₹\s*([\d,]+(?:\.\d+)?)", text)
    assert match, f"no amount in {text!r}"
    value = float(match.group(1).replace(",", ""))
    return -value if text.strip().startswith("-") else value


def hidden_inputs(html: str) -> dict[str, str]:
    """name -> value of hidden inputs (the first of each name)."""
    found: dict[str, str] = {}
    for match in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html):
        found.setdefault(match.group(1), match.group(2))
    return found
