"""Forms of the match page: check in, start, report a score game by game, confirm, reject.

Every form carries the match's `version` as the page rendered it, so an action taken on a
stale page is refused (409) and the page shown again as the match is now.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import IntegerField, TextAreaField
from wtforms.validators import InputRequired, Length
from wtforms.widgets import HiddenInput

from app.services.match_actions import REASON_MAX
from app.services.match_rules import MAX_LINK_LENGTH, MAX_LINKS

RELOAD = "Reload the page and try again."
MAX_GAME_SCORE = 10**6


class ActionForm(FlaskForm):
    """A button: the action and the match version it was shown for."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired(RELOAD)])


class ReasonForm(ActionForm):
    reason = TextAreaField("Reason", [
        InputRequired("Give a reason; both sides and the staff see it."),
        Length(max=REASON_MAX, message=f"At most {REASON_MAX} characters.")])


class ReportForm(ActionForm):
    """The score game by game (fields `game-N-a`, `game-N-b`, read by `games_of`) and evidence."""

    links = TextAreaField("Evidence links (optional, one per line)", [
        Length(max=MAX_LINKS * (MAX_LINK_LENGTH + 2), message="Too many or too long links.")])
    # The accept list only helps the file picker; the server checks each file's content.
    screenshots = MultipleFileField("Screenshots (optional: PNG, JPG or WebP, up to 5 MB each)",
                                    render_kw={"accept": ".png,.jpg,.jpeg,.webp,image/png,"
                                                         "image/jpeg,image/webp"})

    def link_list(self) -> list[str]:
        return [line.strip() for line in (self.links.data or "").splitlines() if line.strip()]

    def files(self) -> list:
        return [f for f in (self.screenshots.data or []) if f and f.filename]


@dataclass
class Games:
    """The game scores typed on the form: what parsed, what was typed, and what is wrong."""

    games: list[tuple[int, int]] = field(default_factory=list)
    typed: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def games_of(form: Mapping[str, str], best_of: int) -> Games:
    """Read `game-N-a` / `game-N-b` for N = 1..best_of; rows left empty are games not played."""
    result = Games()
    empty_seen = None
    for number in range(1, best_of + 1):
        a, b = (form.get(f"game-{number}-{side}", "").strip() for side in "ab")
        result.typed[f"game-{number}-a"], result.typed[f"game-{number}-b"] = a, b
        if not a and not b:
            empty_seen = empty_seen or number
            continue
        if result.error:
            continue
        if empty_seen is not None:
            result.error = (f"Game {empty_seen} is empty but game {number} is not: enter the "
                            "games in order.")
        elif not a or not b:
            result.error = f"Game {number}: enter both scores."
        elif not (a.isdigit() and b.isdigit()) or max(int(a), int(b)) > MAX_GAME_SCORE:
            result.error = f"Game {number}: scores are whole numbers, 0 or more."
        else:
            result.games.append((int(a), int(b)))
    if not result.games and not result.error:
        result.error = "Enter the score of each game played."
    return result
