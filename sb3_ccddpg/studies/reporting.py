"""Render result tables for people: a rich table on the terminal, markdown and CSV files written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

#: Columns of :func:`~sb3_ccddpg.evaluation.summarize` shown on the terminal, with their headers.
SUMMARY_COLUMNS = {
    "objective": "objective",
    "T_total": "T_total (s)",
    "E_total": "E_total (J)",
    "C6_violation_rate": "C6 viol.",
    "C7_violation_rate": "C7 viol.",
    "decision_ms": "decision (ms)",
    "gap_pct": "gap to ref. (%)",
}


def print_summary(table: pd.DataFrame, title: str, console: Console | None = None) -> None:
    """Print a :func:`~sb3_ccddpg.evaluation.summarize` table, means with their 95 % CI half-widths.

    :param table: one row per method
    :param title: table caption
    :param console: where to print; a new stdout console by default
    """
    view = Table(title=title)
    view.add_column("method")
    columns = [c for c in SUMMARY_COLUMNS if c in table.columns]
    for column in columns:
        view.add_column(SUMMARY_COLUMNS[column], justify="right")
    for method, row in table.iterrows():
        cells = []
        for column in columns:
            value = row[column]
            if f"{column}_ci95" in table.columns:
                cells.append(f"{value:.4g} ± {row[f'{column}_ci95']:.2g}")
            elif column.endswith("rate"):
                cells.append(f"{value:.1%}")
            else:
                cells.append(f"{value:.3g}")
        view.add_row(str(method), *cells)
    if console is None:
        console = Console()
        if not console.is_terminal:  # a pipe or a log: do not wrap at 80 columns
            console = Console(width=160)
    console.print(view)


def write_atomically(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and :func:`os.replace`, so a reader never sees half a file.

    :param path: destination; its folder is created if missing
    :param text: content
    :return: the destination path
    """
    destination = Path(path)
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return destination
