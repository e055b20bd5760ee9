"""Settings of login and single sign-on (kept free of web imports: the CLI loads them too)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class OIDCConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str | None = Field(None, description="Issuer URL of the OpenID Connect provider (Keycloak realm "
                               "URL); unset: no single sign-on")
    client_id: str = Field("lotse", description="Client id registered at the provider")
    client_secret: SecretStr = Field(SecretStr(""), description="Client secret (confidential client)")
    scopes: str = Field("openid profile email", description="Requested scopes")
    roles_claim: str = Field("realm_access.roles", description="Dotted path of the roles claim in the ID "
                             "token/userinfo (Keycloak: realm_access.roles or resource_access.lotse.roles)")
    role_map: dict[str, str] = Field(default_factory=dict, description="Claim value -> Lotse role, e.g. "
                                     '{"lotse-sb": "sachbearbeitung"}; Lotse role names map to themselves')
    departments_claim: str = Field("departments", description="Dotted path of the claim listing the user's "
                                   "departments (Organisationseinheiten); '*' in it means all")
    name_claim: str = Field("name", description="Claim with the display name")
    email_claim: str = Field("email", description="Claim with the person's own e-mail address (printed on letters)")
    phone_claim: str = Field("phone_number", description="Claim with the person's direct telephone line "
                             "(printed on letters)")
    room_claim: str = Field("room", description="Dotted path of the claim with the person's room (printed on "
                            "letters; e.g. an LDAP attribute mapped by the identity provider)")
    redirect_url: str | None = Field(None, description="External URL of /auth/oidc/callback when Lotse runs "
                                     "behind a reverse proxy; default: derived from the request")


class AuthConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    session_secret: SecretStr | None = Field(None, description="Key that signs session cookies; default: a "
                                             "random key kept in <data_dir>/session_secret")
    cookie_secure: bool = Field(False, description="Send the session cookie only over HTTPS (set true in "
                                "production behind TLS)")
    session_hours: float = Field(10.0, gt=0, le=24 * 7, description="Absolute session lifetime in hours")
    idle_minutes: float = Field(120.0, gt=0, description="Session ends after this many idle minutes")
    login_attempts: int = Field(5, ge=1, description="Failed logins per user name or address before the "
                                "login is blocked for login_window_s")
    login_window_s: int = Field(300, ge=1, description="Window and block time of the login rate limit")
    initial_admin_password: SecretStr | None = Field(None, description="Password of the 'admin' account created "
                                                     "on first start when no user exists; default: random, "
                                                     "printed once on the console")
    oidc: OIDCConfig = Field(default_factory=OIDCConfig, description="OpenID Connect single sign-on")
    api_docs: Literal["login", "off"] = Field("login", description="API documentation (/docs, /redoc, "
                                              "/openapi.json): 'login' = only for logged-in users, 'off' = none")
    trusted_proxies: list[str] = Field(default_factory=list, description="Addresses or networks (CIDR) of reverse "
                                       "proxies whose X-Forwarded-For header is believed; empty: the header is "
                                       "ignored and the connecting address counts (login rate limit)")
