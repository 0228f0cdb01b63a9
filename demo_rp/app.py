"""The demo relying party's pages: home, sign-in, callback, records, sign-out, logout notice."""

import os
import secrets
import time
from pathlib import Path
from urllib.parse import urlsplit

from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, abort, redirect, render_template, request, session

from demo_rp.logout_token import InvalidLogoutToken, verify_logout_token
from demo_rp.store import EndedSessions

SCOPES = "openid profile email institution"


def _secret(config: dict) -> str:
    """The client secret: given, or read from the file `flask register-client` wrote."""
    if config.get("RP_CLIENT_SECRET"):
        return config["RP_CLIENT_SECRET"]
    path = config.get("RP_CLIENT_SECRET_FILE")
    if path and Path(path).exists():
        return Path(path).read_text().strip()
    raise RuntimeError("set RP_CLIENT_SECRET or RP_CLIENT_SECRET_FILE")


def create_app(overrides: dict | None = None) -> Flask:
    """The relying party, configured from the environment (or `overrides`, in tests)."""
    app = Flask(__name__)
    port = os.environ.get("RP_PORT", "5001")
    app.config.update(
        SECRET_KEY=os.environ.get("RP_SECRET_KEY") or secrets.token_urlsafe(32),
        # Not the portal's cookie: both may live on 127.0.0.1, and cookies ignore ports.
        SESSION_COOKIE_NAME="cessation_demo_session",
        SESSION_COOKIE_SAMESITE="Lax",
        PORTAL_ISSUER=os.environ.get("PORTAL_ISSUER", "http://127.0.0.1:5000"),
        RP_BASE_URL=os.environ.get("RP_BASE_URL", f"http://127.0.0.1:{port}"),
        RP_CLIENT_ID=os.environ.get("RP_CLIENT_ID", "cessation-demo"),
        RP_CLIENT_SECRET=os.environ.get("RP_CLIENT_SECRET"),
        RP_CLIENT_SECRET_FILE=os.environ.get("RP_CLIENT_SECRET_FILE"),
        RP_STORE=os.environ.get("RP_STORE", "instance/demo_rp.sqlite"),
    )
    app.config.update(overrides or {})
    oauth = OAuth(app)
    oauth.register(
        "portal",
        client_id=app.config["RP_CLIENT_ID"],
        client_secret=_secret(app.config),
        server_metadata_url=app.config["PORTAL_ISSUER"].rstrip("/")
        + "/.well-known/openid-configuration",
        client_kwargs={"scope": SCOPES, "code_challenge_method": "S256", "timeout": 10},
    )
    ended = EndedSessions(app.config["RP_STORE"])
    _routes(app, oauth.portal, ended)
    return app


def _routes(app: Flask, portal, ended: EndedSessions) -> None:
    base = app.config["RP_BASE_URL"].rstrip("/")

    def person() -> dict | None:
        """The signed-in person, unless the portal ended their session meanwhile."""
        user = session.get("user")
        if user and ended.is_ended(user.get("sid"), user.get("sub"), user["signed_in_at"]):
            session.clear()
            return None
        return user

    def start_sign_in(target: str, **extra):
        session["target"] = target if target.startswith("/") else "/"
        return portal.authorize_redirect(f"{base}/callback", **extra)

    @app.get("/")
    def home():
        return render_template("home.html", user=person())

    @app.get("/records")
    def records():
        """A page that needs sign-in: the portal brings the person back here."""
        user = person()
        if user is None:
            return start_sign_in("/records")
        return render_template("records.html", user=user)

    @app.get("/login")
    def login():
        """Sign in; also the initiate_login_uri the portal's 開啟 opens (iss, target_link_uri)."""
        issuer = request.args.get("iss")
        if issuer and issuer.rstrip("/") != app.config["PORTAL_ISSUER"].rstrip("/"):
            abort(400)
        target = request.args.get("target_link_uri") or request.args.get("next") or "/"
        if urlsplit(target).netloc and not target.startswith(base + "/"):
            target = "/"
        target = target.removeprefix(base) or "/"
        if person() is not None:
            return redirect(target)
        extra = {"login_hint": request.args["login_hint"]} if "login_hint" in request.args else {}
        return start_sign_in(target, **extra)

    @app.get("/callback")
    def callback():
        if "error" in request.args:
            return render_template(
                "error.html",
                error=request.args["error"],
                description=request.args.get("error_description"),
            ), 400
        try:
            token = portal.authorize_access_token()
        except OAuthError as error:
            # A sign-in this browser did not start (or started too long ago): start over.
            if error.error == "mismatching_state":
                return start_sign_in("/")
            return render_template(
                "error.html", error=error.error, description=error.description
            ), 400
        claims = token["userinfo"]
        info = portal.userinfo(token=token)
        target = session.get("target") or "/"
        session.clear()
        session["user"] = {
            "sub": claims["sub"],
            "sid": claims.get("sid"),
            "name": info.get("name"),
            "email": info.get("email"),
            "role": info.get("role"),
            "institution_code": info.get("institution_code"),
            "institution_name": info.get("institution_name"),
            "amr": claims.get("amr"),
            "acr": claims.get("acr"),
            "signed_in_at": time.time(),
        }
        session["id_token"] = token["id_token"]
        return redirect(target)

    @app.post("/logout")
    def logout():
        """Sign out here and at the portal (RP-initiated logout)."""
        id_token = session.get("id_token")
        session.clear()
        return portal.logout_redirect(
            post_logout_redirect_uri=f"{base}/signed-out", id_token_hint=id_token
        )

    @app.get("/signed-out")
    def signed_out():
        return render_template("signed_out.html")

    @app.post("/backchannel-logout")
    def backchannel_logout():
        """The portal says a session is over: it ends here too."""
        metadata = portal.load_server_metadata()
        token = request.form.get("logout_token", "")
        algorithms = metadata.get("id_token_signing_alg_values_supported", ["RS256"])
        try:
            claims = _verify(token, portal, metadata, app, algorithms)
        except InvalidLogoutToken as error:
            return {"error": "invalid_request", "error_description": str(error)}, 400
        ended.end(claims.get("sid"), claims.get("sub"))
        return "", 200, {"Cache-Control": "no-store"}


def _verify(token: str, portal, metadata: dict, app: Flask, algorithms: list[str]) -> dict:
    """Check the token against the JWKS, fetching it again once for a key not yet seen."""
    args = (metadata["issuer"], app.config["RP_CLIENT_ID"], algorithms)
    try:
        return verify_logout_token(token, portal.fetch_jwk_set(), *args)
    except InvalidLogoutToken:
        return verify_logout_token(token, portal.fetch_jwk_set(force=True), *args)
