"""子系統用戶端: a portal administrator registers subsystems as relying parties."""

from flask import Blueprint, render_template, request
from flask_login import current_user
from wtforms import SelectChoice

from portal.accounts.models import StaffRole
from portal.authz import staff_required
from portal.i18n import gettext as _
from portal.oidc import clients
from portal.oidc.forms import ClientForm, lines
from portal.rendering import request_origin
from portal.subsystems.services import offered_subsystems

bp = Blueprint("oidc_admin", __name__, template_folder="templates", url_prefix="/admin/clients")
portal_admin_required = staff_required(StaffRole.PORTAL_ADMIN)


def _form(**kwargs) -> ClientForm:
    form = ClientForm(**kwargs)
    form.subsystem_code.choices = [SelectChoice(s.code, s.name) for s in offered_subsystems()]
    return form


def _details(form: ClientForm) -> clients.ClientDetails:
    return clients.ClientDetails(
        client_id=form.client_id.data.strip(),
        name=form.name.data,
        subsystem_code=form.subsystem_code.data,
        redirect_uris=lines(form.redirect_uris.data),
        post_logout_redirect_uris=lines(form.post_logout_redirect_uris.data),
        backchannel_logout_uri=(form.backchannel_logout_uri.data or "").strip() or None,
        initiate_login_uri=(form.initiate_login_uri.data or "").strip() or None,
        may_receive_national_id=form.may_receive_national_id.data,
    )


@bp.get("/")
@portal_admin_required
def index():
    """Every registered client."""
    return render_template("oidc/clients.html", items=clients.all_clients())


@bp.route("/new", methods=["GET", "POST"])
@portal_admin_required
def new():
    """Register a client; its secret is shown once, on the answer."""
    form = _form()
    if form.validate_on_submit():
        try:
            client, secret = clients.register_client(_details(form), request_origin(), current_user)
        except clients.ClientRefused as error:
            getattr(form, error.field).errors = [str(error.message)]
        else:
            return render_template("oidc/client_secret.html", client=client, secret=secret)
    status = 422 if form.is_submitted() else 200
    return render_template("oidc/client_form.html", form=form, client=None), status


@bp.route("/<client_id>", methods=["GET", "POST"])
@portal_admin_required
def edit(client_id: str):
    """Change a client's addresses and settings."""
    client = clients.client_by_id(client_id[:64])
    form = _form(
        obj=client,
        data=None
        if request.method == "POST"
        else {
            "subsystem_code": client.subsystem.code,
            "redirect_uris": client.redirect_uris,
            "post_logout_redirect_uris": client.post_logout_redirect_uris,
        },
    )
    form.client_id.data = client.client_id
    saved = False
    if form.validate_on_submit():
        try:
            clients.update_client(client.client_id, _details(form), request_origin(), current_user)
        except clients.ClientRefused as error:
            getattr(form, error.field).errors = [str(error.message)]
        else:
            saved = True
    status = 422 if form.is_submitted() and not saved else 200
    return render_template(
        "oidc/client_form.html",
        form=form,
        client=client,
        saved=_("已儲存。") if saved else None,
    ), status


@bp.post("/<client_id>/secret")
@portal_admin_required
def rotate_secret(client_id: str):
    """A new secret; the old one stops working at once."""
    client = clients.client_by_id(client_id[:64])
    secret = clients.rotate_secret(client.client_id, request_origin(), current_user)
    return render_template("oidc/client_secret.html", client=client, secret=secret, rotated=True)
