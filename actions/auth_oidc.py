"""OIDC/JWT reviewer identity, Cognito-compatible, verified with PyJWT against the issuer's JWKS.

Cognito ID tokens carry ``aud`` = the app client id and ``token_use: id``; its access tokens carry
``client_id`` instead of ``aud`` and ``token_use: access``. Groups arrive in ``cognito:groups`` and
tenant membership in a custom attribute (``custom:tenants``, comma separated). Other OIDC providers
fit by naming their claims in :class:`OidcConfig`."""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

from actions.auth_roles import Role, parse_roles


class OidcTokenError(Exception):
    """The token is not acceptable; the message says which check failed."""


@dataclass(frozen=True)
class OidcConfig:
    """Where tokens come from and how to read them. ``jwks`` (a JWK Set dict) pins the keys; otherwise
    they are fetched from ``jwks_url`` (default ``{issuer}/.well-known/jwks.json``, Cognito's layout)
    and cached for ``jwks_cache_seconds``; an unknown ``kid`` triggers one refetch (key rotation)."""

    issuer: str
    client_id: str
    jwks_url: str | None = None
    jwks: Mapping[str, Any] | None = None
    roles_claim: str = "cognito:groups"
    tenants_claim: str = "custom:tenants"
    username_claims: tuple[str, ...] = ("email", "cognito:username", "username", "sub")
    token_uses: frozenset[str] | None = frozenset({"id", "access"})  # None: do not check token_use
    algorithms: tuple[str, ...] = ("RS256",)
    leeway_seconds: int = 30
    jwks_cache_seconds: int = 3600
    jwks_refetch_cooldown_seconds: float = 30.0  # least time between refetches caused by unknown kids
    role_aliases: Mapping[str, str] = field(default_factory=dict)  # IdP group name -> revloop role
    # The browser sign-in (authorization code + PKCE); without them only bearer tokens are accepted.
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    client_secret: str | None = None
    redirect_url: str | None = None  # default: this app's /auth/oidc/callback as the request saw it
    scopes: tuple[str, ...] = ("openid", "email", "profile")

    @property
    def resolved_jwks_url(self) -> str:
        return self.jwks_url or self.issuer.rstrip("/") + "/.well-known/jwks.json"

    @property
    def browser_login(self) -> bool:
        return bool(self.authorization_endpoint and self.token_endpoint)


@dataclass(frozen=True)
class OidcIdentity:
    username: str
    tenants: frozenset[str]
    roles: frozenset[Role]
    expires_at: int


def _names(value: Any) -> list[str]:
    """A claim holding names: a JSON list, or a string separated by commas/spaces (Cognito custom
    attributes are strings; a JSON array string is accepted as well)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return _names(json.loads(text))
            except ValueError:
                return []
        return [part for part in re.split(r"[,\s]+", text) if part]
    if isinstance(value, list):
        return [item.strip() for item in value if isinstance(item, str) and item.strip()]
    return []


class OidcVerifier:
    def __init__(self, config: OidcConfig) -> None:
        if not config.issuer or not config.client_id:
            raise ValueError("OIDC needs an issuer and a client id (the audience of its tokens)")
        if any(alg.upper().startswith("HS") or alg.lower() == "none" for alg in config.algorithms):
            raise ValueError("OIDC tokens must be verified with public keys (RS*/ES*/PS*), not "
                             f"{list(config.algorithms)}")
        self.config = config
        self._pinned = jwt.PyJWKSet.from_dict(dict(config.jwks)) if config.jwks is not None else None
        self._client = None if self._pinned is not None else jwt.PyJWKClient(
            config.resolved_jwks_url, cache_jwk_set=True, lifespan=config.jwks_cache_seconds,
            timeout=5, cooldown_duration=config.jwks_refetch_cooldown_seconds)

    def verify(self, token: str, nonce: str | None = None) -> OidcIdentity:
        """The identity in ``token`` after every check; raises OidcTokenError naming the failed one."""
        cfg = self.config
        try:
            key = self._key(token)
            claims = jwt.decode(token, key, algorithms=list(cfg.algorithms), issuer=cfg.issuer,
                                leeway=cfg.leeway_seconds,
                                options={"require": ["exp", "iss"], "verify_aud": False})
        except jwt.ExpiredSignatureError as exc:
            raise OidcTokenError("the token has expired: sign in again") from exc
        except jwt.ImmatureSignatureError as exc:
            raise OidcTokenError("the token is not valid yet (nbf/iat in the future)") from exc
        except jwt.InvalidIssuerError as exc:
            raise OidcTokenError(f"the token was not issued by {cfg.issuer}") from exc
        except jwt.PyJWTError as exc:
            raise OidcTokenError(f"the token failed verification: {exc}") from exc
        self._check_audience(claims)
        if cfg.token_uses is not None and claims.get("token_use") not in cfg.token_uses:
            raise OidcTokenError(f"token_use {claims.get('token_use')!r} is not one of "
                                 f"{sorted(cfg.token_uses)}")
        if nonce is not None and not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise OidcTokenError("the token's nonce does not match this sign-in: start again")
        username = next((claims[c] for c in cfg.username_claims
                         if isinstance(claims.get(c), str) and claims[c]), None)
        if username is None:
            raise OidcTokenError(f"the token has none of the username claims {list(cfg.username_claims)}")
        return OidcIdentity(username=username, tenants=frozenset(_names(claims.get(cfg.tenants_claim))),
                            roles=parse_roles(_names(claims.get(cfg.roles_claim)), cfg.role_aliases),
                            expires_at=int(claims["exp"]))

    def _key(self, token: str) -> Any:
        header = jwt.get_unverified_header(token)
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise OidcTokenError("the token header names no signing key (kid)")
        if self._pinned is not None:
            try:
                return self._pinned[kid]
            except KeyError:
                raise OidcTokenError(f"no configured signing key {kid!r}") from None
        assert self._client is not None
        try:
            return self._client.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError as exc:
            raise OidcTokenError(f"could not fetch the signing keys from {self.config.resolved_jwks_url}: "
                                 f"{exc}") from exc
        except jwt.PyJWKClientError as exc:
            raise OidcTokenError(f"signing key {kid!r} is not in the issuer's key set") from exc

    def _check_audience(self, claims: Mapping[str, Any]) -> None:
        client_id = self.config.client_id
        if "aud" in claims:
            aud = claims["aud"]
            audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
            if client_id not in audiences:
                raise OidcTokenError(f"the token is for another audience, not client {client_id}")
        elif claims.get("client_id") != client_id:
            raise OidcTokenError(f"the token was issued to another client, not {client_id}")
