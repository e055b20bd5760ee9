"""Which people's questions and results a viewer may see: departments apply to user content too.

Questions, answers, feedback, quiz results, audit events and the report's figures belong to the
person who produced them; that person's departments decide who else may see them. A viewer of
some departments (a trainer of S-III) sees content of a person only when every department of that
person is one of the viewer's; people of all departments (``*``), people without a department and
people unknown to the account table (the CLI's default user) are seen only by viewers of all
departments. A viewer of all departments (``Principal.departments is None``) sees everything.

The departments are those the account has now (moving a person moves their history with them).
"""

from __future__ import annotations

from sqlalchemy import select

from .db import User
from .identity import Principal

ALL = "*"


def visible_user_ids(session, viewer: Principal) -> set[str] | None:
    """Ids of the accounts whose content ``viewer`` may see; None when the viewer sees every department."""
    if viewer.departments is None:
        return None
    mine = set(viewer.departments)
    out: set[str] = set()
    for user_id, departments in session.execute(select(User.id, User.departments)):
        if not departments or departments == ALL:
            continue
        theirs = {d for d in departments.split(",") if d}
        if theirs and theirs <= mine:
            out.add(user_id)
    return out


def restrict(stmt, column, visible: set[str] | None):
    """``stmt`` limited to rows whose user column is among ``visible`` (unchanged when None)."""
    return stmt if visible is None else stmt.where(column.in_(sorted(visible)))
