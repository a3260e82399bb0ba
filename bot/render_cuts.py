"""`retention-bot scorecard --by …` as a terminal table and its notes."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from blocks import cuts as words
from services.cuts import Cut


def cut_table(cut: Cut) -> Table:
    table = Table(title=words.title(cut), title_justify="left")
    for i, name in enumerate([words.BY_WORDS[cut.by], *words.HEADERS[1:]]):
        table.add_column(name, justify="left" if i == 0 else "right", no_wrap=True)
    for row in cut.rows:
        table.add_row(*(escape(cell) for cell in words.cells(row)))
    return table


def cut_notes(cut: Cut) -> list[str]:
    lines = [words.footer(cut)]
    if any(row.small for row in cut.rows):
        lines.append(words.SMALL_NOTE)
    if not cut.rows:
        lines.insert(0, "no accounts yet: `retention-bot import accounts FILE`")
    return lines
