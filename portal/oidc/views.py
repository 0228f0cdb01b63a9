"""The provider's endpoints: discovery, JWKS, authorize, token, userinfo, end session."""

from flask import (
    Blueprint,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_url
from flask_wtf.csrf import CSRFError, validate_csrf

from portal.auth.session import PENDING_SECOND_FACTOR_KEY, sign_out
from portal.extensions import csrf, db
from portal.oidc import flow, keys
from portal.oidc.discovery import provider_metadata
from portal.oidc.server import provider
from portal.rendering import request_origin

bp = Blueprint("oidc", __name__, template_folder="templates")


@bp.before_app_request
def _sign_in_may_lead_on() -> None:
    """A sign-in going on to a subsystem may be redirected there (see flow.allow_form_action_to)."""
    if request.endpoint == "auth.login":
        flow.form_action_for_next(request.values.get("next"))
    elif request.endpoint == "auth.second_factor":
        flow.form_action_for_next((session.get(PENDING_SECOND_FACTOR_KEY) or {}).get("next"))


def _json(document: dict, max_age: int):
    response = jsonify(document)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/.well-known/openid-configuration")
def configuration():
    """The provider's metadata."""
    return _json(provider_metadata(), 3600)


@bp.get("/oidc/jwks")
def jwks():
    """The public keys: the active one and those retiring (short cache: rotations show)."""
    return _json(keys.jwks(), 300)


@bp.route("/oidc/authorize", methods=["GET", "POST"])
@csrf.exempt
def authorize():
    """An authorization request: a code for a person who may use the subsystem."""
    account = current_user if current_user.is_authenticated else None
    outcome = flow.authorize(account)
    if outcome.response is not None:
        return outcome.response
    if outcome.sign_in_next is not None:
        if outcome.sign_out_first:
            sign_out(request_origin())
        return redirect(login_url("auth.login", next_url=outcome.sign_in_next), 303)
    if outcome.missing is not None:
        return render_template(
            "oidc/access_missing.html",
            standing=outcome.missing,
            subsystem=outcome.client.subsystem,
            resume=flow.resumable_path() if request.method == "GET" else None,
        ), 403
    return render_template("oidc/authorize_error.html"), 400


@bp.post("/oidc/token")
@csrf.exempt
def token():
    """Codes and refresh tokens exchanged for tokens (client_secret_basic or _post)."""
    response = provider().create_token_response()
    # A winning exchange keeps its claim on the code open until its tokens are stored.
    db.session.commit()
    return response


@bp.route("/oidc/userinfo", methods=["GET", "POST"])
@csrf.exempt
def userinfo():
    """The claims the access token's scope allows."""
    return provider().create_endpoint_response("userinfo")


@bp.route("/oidc/logout", methods=["GET", "POST"])
@csrf.exempt
def end_session():
    """RP-initiated logout; without an id_token_hint the person confirms first."""
    server = provider()
    try:
        end_request = server.validate_endpoint_request("end_session")
    except Exception as error:  # noqa: BLE001  (Authlib's OAuth2Error and joserfc errors)
        return render_template("oidc/logout_error.html", message=str(error)), 400
    if end_request.redirect_uri:
        flow.allow_form_action_to([end_request.redirect_uri])
    if end_request.needs_confirmation and not _confirmed():
        return render_template(
            "oidc/logout_confirm.html",
            client=end_request.client,
            form_values=request.values.to_dict(),
            signed_in=current_user.is_authenticated,
        )
    response = server.create_endpoint_response("end_session", end_request)
    return response or redirect(url_for("oidc.logged_out"), 303)


def _confirmed() -> bool:
    """The confirmation form (ours, with its CSRF token) was sent."""
    if request.method != "POST" or request.form.get("confirm") != "yes":
        return False
    try:
        validate_csrf(request.form.get("csrf_token"))
    except (CSRFError, Exception):  # noqa: BLE001  (flask-wtf raises ValidationError)
        return False
    return True


@bp.get("/oidc/logged-out")
def logged_out():
    """Said after a subsystem's sign-out that names no page to go back to."""
    return render_template("oidc/logged_out.html")
