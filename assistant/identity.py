"""Who acts: every request runs as a Principal (CLI and single-user mode use a configured default)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Contact:
    """The person's own contact for letters (user profile or single sign-on claims); empty: not known."""

    zimmer: str = ""
    telefon: str = ""
    email: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"zimmer": self.zimmer, "telefon": self.telefon, "email": self.email}


@dataclass(frozen=True)
class Principal:
    user_id: str
    display_name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    departments: tuple[str, ...] | None = None  # None: all departments (local single-user mode)
    contact: Contact | None = None  # room, direct line, e-mail from the user profile

    def may_see(self, department: str) -> bool:
        return self.departments is None or department in self.departments
