"""Which parser a script needs: by extension for structured files, otherwise by what the text looks like."""

from __future__ import annotations

import re
from pathlib import Path

FORMATS = ("fountain", "zh", "yaml", "json")
BY_SUFFIX = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".fountain": "fountain", ".spmd": "fountain"}

_ZH_SCENE = re.compile(
    r"^\s*\**\s*(?:#+\s*)?\d+\s*[-－—–]\s*\d+\s*[、，,.．]?\s*(日|夜|晨|早|晚|黄昏|傍晚|清晨|凌晨|白天|深夜|内|外)"
)
_ZH_EPISODE = re.compile(
    r"^\s*\**\s*(?:#+\s*)?(?:第\s*[0-9零〇一二两三四五六七八九十百千]+\s*[集场]|场景\s*\d)"
)
_ZH_ACTION = re.compile(r"^\s*[△▲]")
_ZH_BRACKET = re.compile(r"【\s*(字幕|音效)\s*[：:]")
_ZH_DIALOGUE = re.compile(r"^\s*\**[\u4e00-\u9fff]{1,6}\**\s*(?:[（(][^）)]*[）)])?\s*[：:]\s*\S")


def sniff(text: str) -> str:
    """``"zh"`` for Chinese short-drama markup, else ``"fountain"``.

    Strong signs (a ``1-1 日 内`` head, ``第X集``, a ``△`` line, ``【字幕：】``) decide at once; otherwise it
    takes several ``角色：台词`` lines, because a Fountain title page (``Title：电影``) also has colons.
    """
    dialogue = 0
    for line in text.split("\n")[:2000]:
        if (
            _ZH_SCENE.match(line)
            or _ZH_EPISODE.match(line)
            or _ZH_ACTION.match(line)
            or _ZH_BRACKET.search(line)
        ):
            return "zh"
        if _ZH_DIALOGUE.match(line):
            dialogue += 1
            if dialogue >= 3:
                return "zh"
    return "fountain"


def format_of(path: str | Path | None, text: str) -> str:
    suffix = Path(path).suffix.lower() if path else ""
    return BY_SUFFIX.get(suffix) or sniff(text)
