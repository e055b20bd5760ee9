"""Who acts: every request runs as a Principal (CLI and single-user mode use a configured default)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Principal:
    user_id: str
    display_name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    departments: tuple[str, ...] | None = None  # None: all departments (local single-user mode)

    def may_see(self, department: str) -> bool:
        return self.departments is None or department in self.departments
