"""The OpenID Connect provider over HTTP: discovery, the code flow with PKCE, tokens, userinfo.

The relying party's side is done by hand here (tests/functional/oidc_helpers.py), so that
each rule can be broken on purpose; the demo relying party does it with Authlib's client
against a live portal in test_oidc_live.py.
"""

import time

from flask import Flask
from sqlalchemy import select

from portal.auth.models import UserSession
from portal.db_types import utcnow
from portal.oidc.claims import ACR_PASSWORD, ACR_SECOND_FACTOR
from portal.oidc.models import OidcAuthorizationCode, OidcToken
from portal.oidc.tokens import digest
from tests import factories
from tests.functional.auth_helpers import login, login_staff
from tests.functional.oidc_helpers import (
    ISSUER,
    REDIRECT_URI,
    authorize_url,
    code_for,
    exchange,
    grant,
    id_token_claims,
    person,
    pkce,
    redirect_params,
    refresh,
    register,
)


def test_discovery_names_every_endpoint_on_the_external_address(client):
    document = client.get("/.well-known/openid-configuration", headers={"Host": "evil.example"})
    config = document.get_json()
    assert document.status_code == 200
    assert config["issuer"] == ISSUER
    for name in ("authorization", "token", "userinfo", "end_session"):
        assert config[f"{name}_endpoint"].startswith(ISSUER + "/oidc/")
    assert config["jwks_uri"] == ISSUER + "/oidc/jwks"
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    assert set(config["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
    }
    assert {"openid", "profile", "email", "institution"} <= set(config["scopes_supported"])
    assert config["backchannel_logout_supported"] is True


def test_jwks_publishes_public_keys_with_kids(client):
    keys = client.get("/oidc/jwks").get_json()["keys"]
    assert keys and all(key["kid"] and key["alg"] == "RS256" for key in keys)
    assert all("d" not in key and "p" not in key for key in keys)


def test_happy_path_code_tokens_id_token_and_userinfo(client):
    account = person()
    rp = register()
    challenge = pkce()
    login(client, account.username)
    params = redirect_params(client.get(authorize_url(rp, challenge, nonce="nonce-456")))
    assert params["state"] == "state-123"
    answer = exchange(client, rp, params["code"], challenge.verifier)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    tokens = answer.get_json()
    assert tokens["token_type"].lower() == "bearer" and tokens["refresh_token"]
    claims = id_token_claims(client, tokens["id_token"])
    assert claims["iss"] == ISSUER and claims["aud"] == rp.client_id
    assert claims["sub"] == account.subject and claims["sub"] != "A123456789"
    assert claims["nonce"] == "nonce-456"
    assert claims["sid"] and claims["auth_time"] <= time.time()
    assert claims["amr"] == ["pwd"] and claims["acr"] == ACR_PASSWORD
    for method in ("GET", "POST"):
        info = client.open(
            "/oidc/userinfo",
            method=method,
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        assert info.status_code == 200
        body = info.get_json()
        assert body["sub"] == account.subject
        assert body["name"] == account.name and body["email"] == account.email
        assert body["institution_code"] == account.institution.code
        assert body["institution_name"] == account.institution.name
        assert body["role"] == "general"
        assert "national_id" not in body


def test_a_nonce_used_before_is_refused_as_a_replay(client):
    account = person()
    rp = register()
    login(client, account.username)
    code_for(client, rp, pkce(), nonce="once-only")
    replay = redirect_params(client.get(authorize_url(rp, pkce(), nonce="once-only")))
    assert replay["error"] == "invalid_request"


def test_client_secret_post_works_too_and_a_wrong_secret_does_not(client):
    account = person()
    rp = register()
    login(client, account.username)
    challenge = pkce()
    code = code_for(client, rp, challenge)
    rp.secret = "not-the-secret"
    refused = exchange(client, rp, code, challenge.verifier, post_secret=True)
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"
    rp2 = register()
    challenge2 = pkce()
    code2 = code_for(client, rp2, challenge2)
    assert exchange(client, rp2, code2, challenge2.verifier, post_secret=True).status_code == 200


def test_client_secret_is_stored_as_an_argon2_hash(client, db_session):
    from portal.oidc.models import OidcClient

    rp = register()
    stored = db_session.scalar(select(OidcClient).where(OidcClient.client_id == rp.client_id))
    assert stored.secret_hash.startswith("$argon2id$") and rp.secret not in stored.secret_hash


def test_pkce_is_required_and_only_s256(client):
    account = person()
    rp = register()
    login(client, account.username)
    missing = redirect_params(client.get(authorize_url(rp, None)))
    assert missing["error"] == "invalid_request" and missing["state"] == "state-123"
    plain = redirect_params(client.get(authorize_url(rp, pkce(), code_challenge_method="plain")))
    assert plain["error"] == "invalid_request"
    challenge = pkce()
    code = code_for(client, rp, challenge)
    wrong = exchange(client, rp, code, pkce().verifier)
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "invalid_grant"
    no_verifier = exchange(client, rp, code_for(client, rp, challenge), None)
    assert no_verifier.status_code == 400


def test_a_reused_code_is_refused_and_the_tokens_it_gave_are_revoked(client, db_session):
    account = person()
    rp = register()
    login(client, account.username)
    challenge = pkce()
    code = code_for(client, rp, challenge)
    first = exchange(client, rp, code, challenge.verifier).get_json()
    again = exchange(client, rp, code, challenge.verifier)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    info = client.get(
        "/oidc/userinfo", headers={"Authorization": f"Bearer {first['access_token']}"}
    )
    assert info.status_code == 401
    assert refresh(client, rp, first["refresh_token"]).get_json()["error"] == "invalid_grant"
    stored = db_session.scalar(
        select(OidcAuthorizationCode).where(OidcAuthorizationCode.code_digest == digest(code))
    )
    assert stored.used_at is not None


def test_a_code_is_bound_to_its_client(client):
    account = person()
    rp, other = register(), register()
    login(client, account.username)
    challenge = pkce()
    code = code_for(client, rp, challenge)
    stolen = exchange(client, other, code, challenge.verifier)
    assert stolen.get_json()["error"] == "invalid_grant"


def test_a_wrong_redirect_uri_gets_a_page_not_a_redirect(client):
    account = person()
    rp = register()
    login(client, account.username)
    for uri in ("https://evil.example/callback", REDIRECT_URI + "/more", REDIRECT_URI + "?x=1"):
        answer = client.get(authorize_url(rp, pkce(), redirect_uri=uri))
        assert answer.status_code == 400
        assert "Location" not in answer.headers
        assert "登入連結不正確" in answer.get_data(as_text=True)


def test_an_unknown_client_gets_a_page(client):
    account = person()
    login(client, account.username)
    answer = client.get(
        "/oidc/authorize?response_type=code&client_id=nobody&redirect_uri=" + REDIRECT_URI
    )
    assert answer.status_code == 400 and "Location" not in answer.headers


def test_prompt_none_without_a_session_is_login_required(client):
    rp = register()
    params = redirect_params(client.get(authorize_url(rp, pkce(), prompt="none")))
    assert params == {"error": "login_required", "state": "state-123"} | {
        key: params[key] for key in params if key not in ("error", "state")
    }
    assert params["error"] == "login_required"


def test_without_a_session_the_person_signs_in_and_comes_back(client):
    account = person()
    rp = register()
    challenge = pkce()
    first = client.get(authorize_url(rp, challenge))
    assert first.status_code == 303 and "/login?next=" in first.headers["Location"]
    next_url = first.headers["Location"].split("next=", 1)[1]
    from urllib.parse import unquote

    signed_in = login(client, account.username, next_=unquote(next_url))
    assert signed_in.status_code == 303 and signed_in.headers["Location"].startswith("/oidc/")
    # The sign-in page's forms may lead on to the relying party (CSP form-action).
    page = client.get("/login?next=" + next_url)
    assert "https://rp.example.gov.tw" in page.headers["Content-Security-Policy"]
    params = redirect_params(client.get(signed_in.headers["Location"]))
    assert exchange(client, rp, params["code"], challenge.verifier).status_code == 200


def test_prompt_login_and_max_age_force_a_new_sign_in(client, db_session):
    account = person()
    rp = register()
    login(client, account.username)
    forced = client.get(authorize_url(rp, pkce(), prompt="login"))
    assert forced.status_code == 303 and "/login?next=" in forced.headers["Location"]
    assert "prompt" not in forced.headers["Location"].split("next=")[1].replace("%3F", "?")
    assert client.get("/account").status_code == 302  # the old session ended
    login(client, account.username)
    row = db_session.scalar(
        select(UserSession).where(
            UserSession.account_id == account.id, UserSession.ended_at.is_(None)
        )
    )
    row.created_at = row.created_at.replace(year=row.created_at.year - 1)
    db_session.flush()
    old = client.get(authorize_url(rp, pkce(), max_age="60"))
    assert old.status_code == 303 and "/login?next=" in old.headers["Location"]
    login(client, account.username)
    challenge = pkce()
    code = code_for(client, rp, challenge, max_age="60")
    claims = id_token_claims(
        client, exchange(client, rp, code, challenge.verifier).get_json()["id_token"]
    )
    assert time.time() - claims["auth_time"] < 60


def test_prompt_none_with_an_old_sign_in_is_login_required(client, db_session):
    account = person()
    rp = register()
    login(client, account.username)
    row = db_session.scalar(select(UserSession).where(UserSession.account_id == account.id))
    row.created_at = row.created_at.replace(year=row.created_at.year - 1)
    db_session.flush()
    params = redirect_params(client.get(authorize_url(rp, pkce(), prompt="none", max_age="5")))
    assert params["error"] == "login_required"


def test_staff_second_factor_shows_in_amr_and_acr(client):
    from portal.accounts.models import StaffRole

    staff = factories.staff(StaffRole.HELP_DESK)
    grant(staff, "cessation")
    rp = register()
    login_staff(client, staff)
    challenge = pkce()
    code = code_for(client, rp, challenge)
    claims = id_token_claims(
        client, exchange(client, rp, code, challenge.verifier).get_json()["id_token"]
    )
    assert claims["amr"] == ["pwd", "otp", "mfa"] and claims["acr"] == ACR_SECOND_FACTOR


def test_the_id_number_goes_only_to_a_client_registered_for_it(client):
    account = person()
    plain, trusted = register(), register(may_receive_national_id=True)
    login(client, account.username)
    scope = "openid profile national_id"
    for rp, expected in ((plain, None), (trusted, "A123456789")):
        challenge = pkce()
        code = code_for(client, rp, challenge, scope=scope)
        tokens = exchange(client, rp, code, challenge.verifier).get_json()
        info = client.get(
            "/oidc/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        ).get_json()
        assert info.get("national_id") == expected
        assert id_token_claims(client, tokens["id_token"]).get("national_id") == expected


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_family(client):
    account = person()
    rp = register()
    login(client, account.username)
    challenge = pkce()
    first = exchange(client, rp, code_for(client, rp, challenge), challenge.verifier).get_json()
    second = refresh(client, rp, first["refresh_token"])
    assert second.status_code == 200
    rotated = second.get_json()
    assert rotated["refresh_token"] != first["refresh_token"]
    bearer = {"Authorization": f"Bearer {rotated['access_token']}"}
    assert client.get("/oidc/userinfo", headers=bearer).status_code == 200
    reused = refresh(client, rp, first["refresh_token"])
    assert reused.status_code == 400 and reused.get_json()["error"] == "invalid_grant"
    # The thief's copy and the rightful one both stop working.
    assert client.get("/oidc/userinfo", headers=bearer).status_code == 401
    assert refresh(client, rp, rotated["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_a_refresh_token_is_refused_to_another_client(client):
    account = person()
    rp, other = register(), register()
    login(client, account.username)
    challenge = pkce()
    tokens = exchange(client, rp, code_for(client, rp, challenge), challenge.verifier).get_json()
    assert refresh(client, other, tokens["refresh_token"]).get_json()["error"] == "invalid_grant"
    # Presented by the wrong client, it was not used up: its own client still refreshes.
    assert refresh(client, rp, tokens["refresh_token"]).status_code == 200


def test_an_expired_access_token_is_refused(client, db_session):
    account = person()
    rp = register()
    login(client, account.username)
    challenge = pkce()
    tokens = exchange(client, rp, code_for(client, rp, challenge), challenge.verifier).get_json()
    row = db_session.scalar(
        select(OidcToken).where(OidcToken.access_token_digest == digest(tokens["access_token"]))
    )
    row.expires_at = utcnow()
    db_session.flush()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/oidc/userinfo", headers=bearer).status_code == 401


def test_id_token_verifies_across_a_key_rotation(app: Flask, client):
    account = person()
    rp = register()
    login(client, account.username)
    challenge = pkce()
    before = exchange(client, rp, code_for(client, rp, challenge), challenge.verifier).get_json()
    result = app.test_cli_runner().invoke(args=["rotate-oidc-key"])
    assert result.exit_code == 0, result.output
    challenge = pkce()
    after = exchange(client, rp, code_for(client, rp, challenge), challenge.verifier).get_json()
    old_kid = _kid(before["id_token"])
    new_kid = _kid(after["id_token"])
    assert old_kid != new_kid
    published = {key["kid"] for key in client.get("/oidc/jwks").get_json()["keys"]}
    assert {old_kid, new_kid} <= published
    assert id_token_claims(client, before["id_token"])["sub"] == account.subject
    assert id_token_claims(client, after["id_token"])["sub"] == account.subject


def _kid(token: str) -> str:
    import base64
    import json

    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
