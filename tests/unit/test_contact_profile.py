"""The caseworker's own contact on letters comes from the user profile (set by an administrator, the
CLI or the single sign-on claims) and reaches the letter's information block through the principal."""

from __future__ import annotations

import pytest

from assistant.accounts import AccountError, AccountStore
from assistant.letters.config import LetterConfig
from assistant.letters.prefill import sachbearbeitung_for
from web_ui.auth import contact_claims
from web_ui.auth_config import OIDCConfig


def test_profile_contact_reaches_the_letter(tmp_path):
    store = AccountStore(f"sqlite:///{tmp_path / 'u.db'}")
    store.add("clara", "Clara Sachbearbeiterin", ["sachbearbeitung"], ["S-III"], "ein-langes-passwort")
    u = store.update("clara", contact={"zimmer": "3.021", "telefon": "089 233-96555",
                                       "email": "clara.sachbearbeiterin@muenchen.de"})
    assert u["kontakt"] == {"zimmer": "3.021", "telefon": "089 233-96555",
                            "email": "clara.sachbearbeiterin@muenchen.de"}
    with store.Session() as s:
        from assistant.db import User

        principal = store.principal(s.get(User, "clara"))
    block = sachbearbeitung_for(principal, LetterConfig(), "wohngeld")
    assert block == {"name": "Clara Sachbearbeiterin", "zimmer": "3.021", "telefon": "089 233-96555",
                     "email": "clara.sachbearbeiterin@muenchen.de"}
    store.update("clara", contact={"zimmer": ""})  # "" clears: no empty "Zimmer" line on letters
    with store.Session() as s:
        assert store.principal(s.get(User, "clara")).contact.zimmer == ""
    with pytest.raises(AccountError, match="keine gültige E-Mail"):
        store.update("clara", contact={"email": "clara at muenchen"})


def test_sso_claims_fill_the_contact(tmp_path):
    claims = {"sub": "k-123", "email": "dora.d@muenchen.de", "phone_number": "089 233-40000",
              "ldap": {"room": "E.17"}}
    contact = contact_claims(OIDCConfig(room_claim="ldap.room"), claims)
    assert contact == {"zimmer": "E.17", "telefon": "089 233-40000", "email": "dora.d@muenchen.de"}
    store = AccountStore(f"sqlite:///{tmp_path / 'u.db'}")
    u = store.upsert_sso("k-123", "Dora D.", ["sachbearbeitung"], ["S-I"], contact)
    assert (u.zimmer, u.telefon, u.email) == ("E.17", "089 233-40000", "dora.d@muenchen.de")
    assert store.principal(u).contact.telefon == "089 233-40000"
