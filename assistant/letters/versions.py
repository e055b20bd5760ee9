"""Editing letters: every edit is a new :class:`LetterVersion` with the full field values, under
optimistic locking; a stale or refused edit is stored too (``adopted=False``), so nothing a person
wrote is lost. Field values are checked and normalised against the template here. Part of
:class:`~assistant.letters.workflow.LetterService` (a mixin)."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import func, select, update

from connectors.catalog import catalog

from ..db import utcnow
from ..identity import Principal
from .calendar import format_date, parse_date
from .errors import (
    LetterConflict,
    LetterStateError,
    LetterValidationError,
)
from .labels import KEY_LABELS, RECHTSWEG_LABELS, field_label
from .models import STATE_LABELS, Letter, LetterVersion
from .prefill import briefanrede
from .reasons import normalize_choice
from .templates import LetterTemplate

DICT_TYPES = ("address", "organisation", "person", "case")
REQUIRED_KEYS = {"address": ("name", "strasse", "plz_ort"), "organisation": ("name", "strasse", "plz_ort"),
                 "person": ("name",), "case": ("aktenzeichen",)}
REQUIRED_KEYS_BY_FIELD = {"behoerde": ("amt", "strasse", "plz_ort")}
EDITABLE = ("draft", "returned")


class LetterVersions:
    """Edits, proposals accepted, version numbering (part of ``LetterService``)."""

    def _normalize(self, tpl: LetterTemplate, current: dict[str, Any], fields: dict[str, Any],
                   case_type: str | None = None) -> dict[str, Any]:
        unknown = sorted(set(fields) - set(tpl.field_names))
        if unknown:
            raise LetterValidationError(f"Unbekannte Felder für die Vorlage „{tpl.title}“: {', '.join(unknown)}. "
                                        f"Erlaubt: {', '.join(tpl.field_names)}.", unknown)
        out: dict[str, Any] = {}
        problems: list[str] = []
        for name, value in fields.items():
            spec = tpl.field(name)
            assert spec is not None
            if spec.type == "reasons":
                chosen, probs = normalize_choice(self.reasons, case_type, spec.reasons or "", value)
                problems.extend(f"{field_label(name)}: {p}" for p in probs)
                out[name] = chosen
            elif spec.type == "list":
                if value is None:
                    value = []
                if isinstance(value, str):
                    value = value.splitlines()
                if not isinstance(value, list):
                    problems.append(f"{field_label(name)}: erwartet eine Liste von Texten")
                    continue
                out[name] = [str(v).strip() for v in value if str(v).strip()]
            elif spec.type in DICT_TYPES:
                if not isinstance(value, dict):
                    keys = ", ".join(KEY_LABELS.get(k, k) for k in REQUIRED_KEYS[spec.type])
                    problems.append(f"{field_label(name)}: erwartet Angaben wie {keys}")
                    continue
                merged = dict(current.get(name) or {})
                for k, v in value.items():
                    if v is None:
                        merged.pop(k, None)
                    else:
                        merged[str(k)] = str(v).strip()
                out[name] = merged
            elif spec.type == "date":
                s = "" if value is None else str(value).strip()
                if s:
                    try:
                        s = format_date(parse_date(s))
                    except ValueError as exc:
                        problems.append(f"{field_label(name)}: {exc}")
                        continue
                out[name] = s
            else:
                if isinstance(value, (dict, list)):
                    problems.append(f"{field_label(name)}: erwartet einen Text")
                    continue
                out[name] = "" if value is None else str(value)
            rechtswege = catalog().rechtswege
            if name == "rechtsweg" and out.get(name) and out[name] not in rechtswege:
                problems.append("Rechtsbehelf: ungültiger Wert; erlaubt: " + ", ".join(RECHTSWEG_LABELS.values()))
        if problems:
            raise LetterValidationError("Einige Angaben sind ungültig: " + "; ".join(problems) + ".", problems)
        return out

    @staticmethod
    def _missing(tpl: LetterTemplate, values: dict[str, Any]) -> list[str]:
        missing = []
        for spec in tpl.fields:
            if not spec.required:
                continue
            v = values.get(spec.name)
            if spec.type in DICT_TYPES:
                keys = REQUIRED_KEYS_BY_FIELD.get(spec.name, REQUIRED_KEYS[spec.type])
                lacking = [k for k in keys if not str((v or {}).get(k) or "").strip()]
                missing.extend(f"{spec.name}.{k}" for k in lacking)
            elif spec.type == "reasons":
                continue  # checked with its own message (§ 35 SGB X) at submit
            elif not v or (isinstance(v, str) and not v.strip()):
                missing.append(spec.name)
        return missing

    def save(self, principal: Principal, letter_id: str, fields: dict[str, Any],
             expected_version: int) -> dict[str, Any]:
        """Store an edit as the next version. With a stale ``expected_version`` the edit is stored as a
        non-adopted version and :class:`LetterConflict` is raised."""
        return self._edit(principal, letter_id, fields, expected_version, kind="edit")

    def accept_proposal(self, principal: Principal, letter_id: str, field: str, expected_version: int,
                        value: Any = None) -> dict[str, Any]:
        """Accept a proposal as it is (``value=None``) or with the person's changes."""
        with self.Session() as s:
            letter = self._letter(s, letter_id, principal)
            proposals = self._current(s, letter).proposals
        if field not in proposals:
            raise LetterValidationError(f"Für das Feld '{field}' gibt es keinen Vorschlag.")
        return self._edit(principal, letter_id, {} if value is None else {field: value}, expected_version,
                          kind="proposal_accepted", accept=field)

    def _edit(self, principal: Principal, letter_id: str, fields: dict[str, Any], expected_version: int,
              kind: str, accept: str | None = None) -> dict[str, Any]:
        with self.Session() as s:
            letter = self._letter(s, letter_id, principal)
            tpl = self.templates.get(letter.template)
            base_row = self._current(s, letter)
            # the values the person saw: their base version if it exists, else the current one
            if expected_version != letter.version:
                seen = s.scalars(select(LetterVersion).where(LetterVersion.letter_id == letter.id,
                                                             LetterVersion.version == expected_version)).first()
                base_row = seen or base_row
            # copies: the stored version rows are never changed
            base, proposals = copy.deepcopy(base_row.fields), copy.deepcopy(base_row.proposals)
            changes = self._normalize(tpl, base, fields, letter.case_type)
            values = {**base, **changes}
            who = {"by": principal.user_id, "at": utcnow().isoformat()}
            for name, new in changes.items():
                p = proposals.get(name)
                if p and p.get("proposal") and new != base.get(name):
                    proposals[name] = {**p, "proposal": False, "edited": True, **who}
            if accept:
                proposals[accept] = {**proposals[accept], "proposal": False, "accepted": True, **who}
            if "empfaenger" in changes and "briefanrede" in values and "briefanrede" not in changes:
                if values.get("briefanrede") == briefanrede(base.get("empfaenger")):  # still the computed one
                    values["briefanrede"] = briefanrede(values["empfaenger"])
            if letter.state not in EDITABLE:  # keep what the person wrote, but do not adopt it
                seq = self._lock_and_next_seq(s, letter.id)
                s.add(LetterVersion(letter_id=letter.id, seq=seq, version=None, based_on=expected_version,
                                    adopted=False, kind="rejected_state", fields=values,
                                    proposals=proposals, user_id=principal.user_id,
                                    user_name=principal.display_name))
                self._audit(s, principal, "letter_" + kind, letter.id, "refused_state")
                s.commit()
                raise LetterStateError(
                    f"Das Schreiben ist {STATE_LABELS.get(letter.state, letter.state)} und kann nicht mehr "
                    f"bearbeitet werden; dazu muss es zurückgegeben werden. Ihre Änderungen wurden als "
                    f"Bearbeitung Nr. {seq} im Versionsverlauf gespeichert, aber nicht übernommen.")
            new_version = expected_version + 1
            res = s.execute(update(Letter).where(Letter.id == letter.id, Letter.version == expected_version,
                                                 Letter.state.in_(EDITABLE))
                            .values(version=new_version, updated_at=utcnow()))
            if res.rowcount == 1:
                seq = self._next_seq(s, letter.id)  # the row is locked by our UPDATE until the commit
                s.add(LetterVersion(letter_id=letter.id, seq=seq, version=new_version, based_on=expected_version,
                                    adopted=True, kind=kind, fields=values,
                                    proposals=proposals, user_id=principal.user_id,
                                    user_name=principal.display_name))
                self._audit(s, principal, "letter_" + kind, letter.id, f"version {new_version}")
                s.commit()
                s.expire_all()
                return self._view(s, self._letter(s, letter_id, principal))
            s.rollback()
        # lost the race: keep the edit as a non-adopted version, then tell the person
        with self.Session() as s:
            seq = self._lock_and_next_seq(s, letter_id)
            letter = self._letter(s, letter_id, principal)
            s.add(LetterVersion(letter_id=letter.id, seq=seq, version=None, based_on=expected_version, adopted=False,
                                kind="conflict", fields=values, proposals=proposals,
                                user_id=principal.user_id, user_name=principal.display_name))
            last = self._current(s, letter)
            self._audit(s, principal, "letter_edit", letter.id, "conflict")
            s.commit()
            current, last_name = letter.version, last.user_name
        raise LetterConflict(
            f"Das Schreiben wurde inzwischen von {last_name} geändert (jetzt Version {current}, Ihre Bearbeitung "
            f"beruhte auf Version {expected_version}). Ihre Änderungen sind nicht verloren: Sie wurden als "
            f"Bearbeitung Nr. {seq} im Versionsverlauf gespeichert, aber nicht übernommen. Bitte laden Sie das "
            "Schreiben neu und übertragen Sie Ihre Änderungen.", current, seq)

    @staticmethod
    def _next_seq(s, letter_id: str) -> int:
        """The next sequence number of a version row; only while this transaction holds the letter's row lock."""
        return (s.scalar(select(func.max(LetterVersion.seq)).where(LetterVersion.letter_id == letter_id)) or 0) + 1

    def _lock_and_next_seq(self, s, letter_id: str) -> int:
        """Lock the letter's row (a no-op UPDATE: PostgreSQL takes the row lock, SQLite the write lock, both
        until the commit), then number the next version row. Every writer of version rows goes through the
        letter's row first, so two simultaneous edits never get the same sequence number."""
        s.execute(update(Letter).where(Letter.id == letter_id).values(version=Letter.version)
                  .execution_options(synchronize_session=False))
        return self._next_seq(s, letter_id)

