"""Every screenplain test file: our element kinds and texts must match what screenplain's HTML says."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from schemas.script import ElementKind
from tasks.script import parse_script
from tests.conftest import SHARED_FIXTURES

SCREENPLAIN = SHARED_FIXTURES / "fountain" / "screenplain-tests"
CASES = sorted(p.stem for p in SCREENPLAIN.glob("*.html")) if SCREENPLAIN.is_dir() else []


class ScreenplainHtml(HTMLParser):
    """Reads screenplain's HTML into (kind, text) pairs in our vocabulary.

    h6 → scene heading (page-break class: a page break first), h1–h5 → section, hN-synopsis span → synopsis,
    div.action/transition, div.dialog → character / parenthetical / dialogue (paragraphs joined with
    newlines), div.dual → two dialog blocks, the right one dual.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[tuple[str, str, bool]] = []
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.text = ""
        self.dialog: list[tuple[str, str]] | None = None
        self.right = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        cls = a.get("class", "")
        if tag == "br":
            self.text += "\n"
            return
        self.stack.append((tag, a))
        if tag == "div" and cls == "dialog":
            self.dialog = []
        elif tag == "div" and cls in ("left", "right"):
            self.dialog, self.right = [], cls == "right"
        synopsis = tag == "span" and cls.endswith("-synopsis")
        if (
            tag in ("p", "h1", "h2", "h3", "h4", "h5", "h6")
            or synopsis
            or (tag == "div" and cls == "transition")
        ):
            self.text = ""
        if tag == "h6" and cls == "page-break":
            self.out.append(("page_break", "", False))

    def handle_endtag(self, tag: str) -> None:
        if tag == "br" or not self.stack:
            return
        _, a = self.stack.pop()
        cls = a.get("class", "")
        text = self.text.replace("\xa0", " ")
        if tag == "span" and cls.endswith("-synopsis"):
            self.out.append(("synopsis", text, False))
        elif tag == "h6":
            heading = text.strip() + (f" #{self.number}#" if self.number else "")
            self.out.append(("scene_heading", heading, False))
            self.number = ""
        elif tag in ("h1", "h2", "h3", "h4", "h5"):
            self.out.append(("section", text.strip(), False))
        elif tag == "div" and cls == "transition":
            self.out.append(("transition", text.strip(), False))
        elif tag == "p" and self.dialog is not None:
            kind = {"character": "character", "parenthetical": "parenthetical"}.get(cls, "dialogue")
            self.dialog.append((kind, "" if text.strip() == "" else text))
        elif tag == "p" and self.stack and self.stack[-1][1].get("class") == "action":
            self.out.append(("action", text, False))
        elif tag == "div" and (cls == "dialog" or cls in ("left", "right")) and self.dialog is not None:
            merged: list[tuple[str, str]] = []
            for kind, t in self.dialog:
                if kind == "dialogue" and merged and merged[-1][0] == "dialogue":
                    merged[-1] = ("dialogue", merged[-1][1] + "\n" + t)
                else:
                    merged.append((kind, t))
            self.out.extend((kind, t, self.right) for kind, t in merged)
            self.dialog, self.right = None, False

    def handle_data(self, data: str) -> None:
        if (
            self.stack
            and self.stack[-1][0] == "span"
            and self.stack[-1][1].get("class") in ("scnuml", "scnumr")
        ):
            self.number = data  # shown left and right of the heading; not part of its text
            return
        self.text += data

    number = ""


def expected(html: str) -> list[tuple[str, str, bool]]:
    parser = ScreenplainHtml()
    parser.feed(html)
    return parser.out


def ours(path: Path) -> list[tuple[str, str, bool]]:
    out = []
    for el in parse_script(path).elements():
        if el.kind in (ElementKind.note, ElementKind.boneyard):
            continue  # screenplain's HTML leaves them out
        text = el.text
        if el.kind is ElementKind.scene_heading and el.scene_number:
            text = f"{el.text} #{el.scene_number}#"
        if el.kind is ElementKind.character and el.extension:
            text = f"{el.text} ({el.extension})"
        out.append((el.kind.value, text, el.dual))
    return out


def test_the_html_reader_understands_a_dialog_block() -> None:
    html = (
        '<div class="dialog"><p class="character">A</p><p class="parenthetical">(x)</p>'
        "<p>1</p><p>&nbsp;</p><p>2</p></div>"
    )
    assert expected(html) == [
        ("character", "A", False),
        ("parenthetical", "(x)", False),
        ("dialogue", "1\n\n2", False),
    ]


@pytest.mark.parametrize("name", CASES)
def test_matches_screenplain_html(name: str, shared_fixtures: Path) -> None:
    html = (SCREENPLAIN / f"{name}.html").read_text(encoding="utf-8")
    want = expected(html)
    assert want, f"the reader found nothing in {name}.html"
    assert ours(SCREENPLAIN / f"{name}.fountain") == want


def test_every_case_is_covered(shared_fixtures: Path) -> None:
    assert len(CASES) >= 16
