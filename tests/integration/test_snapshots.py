"""Snapshots cover every live region: whatever a renderer pushes to a room, that room's
snapshot draws too (a page that reconnects after a long or busy gap gets only the snapshot).

A new renderer whose region is missing from the snapshot registry fails here.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import OutboxEvent, Status, Visibility
from app.realtime import fragments
from app.realtime.feed import Event
from tests.integration.test_matches import play, playable, start_bracket

ROOT_ID = re.compile(r'<[a-zA-Z][^>]*?\sid="([^"]+)"[^>]*?hx-swap-oob')


def test_every_region_a_renderer_pushes_is_in_its_room_snapshot(app, make_tournament,
                                                                 make_field, organizer):
    cup = make_tournament("snap-cup", status=Status.LIVE, visibility=Visibility.PUBLIC)
    bracket, _ = start_bracket(organizer, cup, 4, make_field)
    while todo := playable(bracket):
        play(todo[0])
    rows = db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all()
    events = [Event.of(row) for row in rows]
    assert {"bracket_generated", "match_updated", "match_completed", "tournament_updated"} <= {
        event.type for event in events}
    with fragments.render_context(app):
        pushed: dict[str, set[str]] = {}
        for event in events:
            for room, html in fragments.render(event).items():
                pushed.setdefault(room, set()).update(ROOT_ID.findall(html))
        assert any(room.startswith("match:") for room in pushed)
        for room, ids in pushed.items():
            snapshot = fragments.snapshot_of(room)
            missing = {i for i in ids if f'id="{i}"' not in snapshot}
            assert not missing, f"{room}'s snapshot lacks {sorted(missing)}"
