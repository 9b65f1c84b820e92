"""A small declarative state machine: states, allowed moves, who may make them, guards.

Each area declares its machines in its states.py as a table of moves; code never assigns a
state field itself but asks the machine to `move` the record, which checks the move, sets
the state and writes the audit record. `examadmin workflows` prints every machine.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Callable, Iterable

from .errors import DomainError

#: every Workflow ever declared, in declaration order, for `examadmin workflows`
REGISTRY: list["Workflow"] = []

#: the actor role name used for moves made by the system itself (jobs, the clock)
SYSTEM = "system"


@dataclass(frozen=True)
class Move:
    sources: frozenset
    action: str
    target: StrEnum
    roles: frozenset[str]
    #: a callable(record) -> bool that must hold for this move to be chosen
    guard: Callable[[Any], bool] | None = None
    #: shown by `examadmin workflows` next to a guarded move
    note: str = ""


class Workflow:
    def __init__(
        self,
        name: str,
        states: type[StrEnum],
        moves: Iterable[tuple],
        *,
        field: str = "state",
        action_labels: dict[str, str] | None = None,
    ):
        self.name = name
        self.states = states
        self.field = field
        self.action_labels = action_labels or {}
        self.moves: list[Move] = []
        for row in moves:
            sources, action, target, roles, *rest = row
            guard = rest[0] if rest else None
            note = rest[1] if len(rest) > 1 else ""
            if isinstance(sources, StrEnum):
                sources = (sources,)
            self.moves.append(
                Move(frozenset(sources), action, target, frozenset(roles.split("|")), guard, note)
            )
        REGISTRY.append(self)

    def label(self, action: str) -> str:
        return self.action_labels.get(action, action)

    def allowed(self, record: Any, action: str, actor: Any = None) -> Move | None:
        """The move `actor` may make with `action` from the record's state, or None."""
        role = _role_of(actor)
        state = getattr(record, self.field)
        for move in self.moves:
            if move.action != action or state not in move.sources:
                continue
            if role not in move.roles:
                continue
            if move.guard is not None and not move.guard(record):
                continue
            return move
        return None

    def actions_for(self, record: Any, actor: Any) -> list[str]:
        """The actions the actor could take now, for buttons on a page."""
        seen: list[str] = []
        for move in self.moves:
            if move.action not in seen and self.allowed(record, move.action, actor):
                seen.append(move.action)
        return seen

    def move(self, record: Any, action: str, actor: Any, *, reason: str | None = None, audit_entity: Any = None):
        """Move the record by `action`; refuse with a Chinese message when not allowed."""
        chosen = self.allowed(record, action, actor)
        if chosen is None:
            state = getattr(record, self.field)
            raise DomainError(f"当前状态为「{state.value}」，不能执行「{self.label(action)}」")
        before = getattr(record, self.field)
        setattr(record, self.field, chosen.target)
        from . import audit  # audit imports models; keep this module import-light

        after: dict[str, Any] = {self.field: chosen.target.value}
        if reason:
            after["reason"] = reason
        audit.record(
            actor,
            f"{self.name}.{action}",
            audit_entity if audit_entity is not None else record,
            before={self.field: before.value},
            after=after,
        )
        return chosen.target

    def describe(self) -> list[tuple[str, str, str, str, str]]:
        """Rows (from, action, to, who, note) for printing."""
        rows = []
        for m in self.moves:
            sources = " | ".join(s.value for s in self.states if s in m.sources)
            rows.append((sources, self.label(m.action), m.target.value, "|".join(sorted(m.roles)), m.note))
        return rows


def _role_of(actor: Any) -> str:
    if actor is None:
        return SYSTEM
    role = getattr(actor, "role", None)
    return str(role) if role is not None else SYSTEM
