"""The request lifecycle, written once as a transition table."""

from __future__ import annotations

STATES = ("new", "assigned", "answered", "waiting", "closed", "held", "merged")
# A merged request lives on in the one it joined: it is neither open nor counted on its own.
OPEN_STATES = tuple(s for s in STATES if s not in ("closed", "merged"))

# (state, event) -> next state. Anything not listed is refused.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("new", "assign"): "assigned",
    ("new", "hold"): "held",
    ("assigned", "assign"): "assigned",
    ("assigned", "answer"): "answered",
    ("assigned", "wait"): "waiting",
    ("assigned", "close"): "closed",
    ("assigned", "followup"): "assigned",
    ("assigned", "hold"): "held",
    ("answered", "answer"): "answered",
    ("answered", "followup"): "assigned",
    ("answered", "wait"): "waiting",
    ("answered", "close"): "closed",
    ("answered", "assign"): "assigned",
    ("waiting", "followup"): "assigned",
    ("waiting", "answer"): "answered",
    ("waiting", "close"): "closed",
    ("waiting", "assign"): "waiting",
    ("closed", "followup"): "assigned",
    ("closed", "answer"): "closed",  # a late answer (the promised scan) goes out; still closed
    ("closed", "reopen"): "assigned",  # ... unless the accountant reopens with «#открыть»
    ("held", "release"): "assigned",
    ("held", "assign"): "assigned",
    ("held", "close"): "closed",
    # «#объединить» / ``buhdesk merge``: the duplicate joins another request ...
    **{(state, "merge"): "merged" for state in ("new", "assigned", "answered", "waiting",
                                                  "closed", "held")},
    # ... and ``buhdesk split`` gives it back its letters; it needs an accountant's eye again
    ("merged", "split"): "assigned",
}


class TransitionError(Exception):
    def __init__(self, state: str, event: str) -> None:
        super().__init__(f"event {event!r} is not allowed in state {state!r}")
        self.state, self.event = state, event


def next_state(state: str, event: str) -> str:
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise TransitionError(state, event) from None
