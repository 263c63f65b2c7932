"""Channel names by `state`, for every page that would otherwise show a channel's code (customers, rules, exports)."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import select

from app.extensions import db
from app.welcome.models import Channel


def names_by_state(states: Iterable[str] | None = None) -> dict[str, str]:
    """{state: channel name} of these states (every channel's with None); a state no channel has is left out."""
    query = select(Channel.state, Channel.name).where(Channel.state.is_not(None))
    if states is not None:
        wanted = sorted({s for s in states if s})
        if not wanted:
            return {}
        query = query.where(Channel.state.in_(wanted))
    return dict(db.session.execute(query).all())


def channel_label(state: str, names: dict[str, str]) -> str:
    """「name（state）」 for a known channel, the bare state otherwise."""
    return f"{names[state]}（{state}）" if state in names else state
