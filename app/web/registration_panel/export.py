"""The registration panel's CSV: UTF-8 with a BOM, display names only, safe in spreadsheets."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from app.services.registration_panel import Row
from app.web.registration_panel.forms import PAYMENT_LABELS, STATUS_LABELS

BOM = "\ufeff"  # makes spreadsheet programs read the file as UTF-8
HEADER = ["name", "type", "roster", "status", "waitlist position", "removal reason", "payment",
          "checked in at", "seed", "registered at"]
# A cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_CHUNK = 100


def header() -> str:
    """The BOM and the header line."""
    return BOM + _line(HEADER)


def lines(rows: Iterable[Row]) -> Iterator[str]:
    """The data lines, ~100 rows per chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for count, row in enumerate(rows, start=1):
        writer.writerow([neutralize(value) for value in values(row)])
        if count % ROWS_PER_CHUNK == 0:
            yield _take(buffer)
    if tail := _take(buffer):
        yield tail


def values(row: Row) -> list[str]:
    """One registration as CSV cells (no emails, no usernames)."""
    reg = row.registration
    roster = [user.display_name for user in row.players]
    roster += [f"{user.display_name} (substitute)" for user in row.substitutes]
    return [
        reg.name,
        "team" if reg.team_id else "player",
        "; ".join(roster),
        STATUS_LABELS[reg.status],
        str(row.waitlist_position or ""),
        reg.removal_reason or "",
        PAYMENT_LABELS[row.payment_state],
        iso(reg.checked_in_at),
        str(reg.seed or ""),
        iso(reg.created_at),
    ]


def neutralize(value: str) -> str:
    """Prefix a value that a spreadsheet would run as a formula with a single quote."""
    return f"'{value}" if value.startswith(FORMULA_START) else value


def iso(moment: datetime | None) -> str:
    """ISO 8601 in UTC, to the second ("" when there is none)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def _line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
