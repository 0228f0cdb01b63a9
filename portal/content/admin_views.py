"""網站內容管理: portal administrators keep announcements, downloads, Q&A, guides and
contact windows (create, edit, preview, schedule, take down, delete, reorder, files)."""

from types import SimpleNamespace

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.models import StaffRole
from portal.authz import staff_required
from portal.content import editing, files, services
from portal.content.editing import BuiltInKept, EditConflict, Schedule
from portal.content.forms import FORMS, ItemForm
from portal.content.models import ContentKind
from portal.db_types import utcnow
from portal.rendering import allows_large_body, page_argument, page_or_fragment, request_origin

bp = Blueprint("content_admin", __name__, template_folder="templates", url_prefix="/admin/content")
portal_admin_required = staff_required(StaffRole.PORTAL_ADMIN)
KIND = "<any(announcement, download, faq, guide, contact):kind>"


def _form(kind: ContentKind, **kwargs) -> ItemForm:
    form = FORMS[kind](**kwargs)
    if hasattr(form, "set_systems"):
        form.set_systems(services.systems().offered)
    return form


def _systems() -> dict[str, int]:
    return {subsystem.code: subsystem.id for subsystem in services.systems().offered}


@bp.get("")
@portal_admin_required
def index():
    """The kinds of content, each with a link to its items."""
    return render_template("content_admin/index.html", kinds=list(ContentKind))


@bp.get(f"/{KIND}")
@portal_admin_required
def items(kind: str):
    """Every item of a kind, in any state: newest first, or in the order shown."""
    kind = ContentKind(kind)
    keyword = " ".join(request.args.get("q", "").split())[: services.KEYWORD_MAX]
    page = page_argument(editing.LAST_ADMIN_PAGE)
    rows, has_next = editing.admin_items(kind, keyword, page)
    return render_template(
        "content_admin/items.html",
        kind=kind,
        rows=rows,
        keyword=keyword,
        page=page,
        has_next=has_next,
        now=utcnow(),
        state_of=editing.publication_state,
        title_of=editing.title_of,
        ordered=kind in editing.ORDERED,
    )


@bp.route(f"/{KIND}/new", methods=["GET", "POST"])
@portal_admin_required
@allows_large_body("CONTENT_UPLOAD_MAX_BYTES")
def new_item(kind: str):
    """A new item; 預覽 shows it as the public would, without saving."""
    kind = ContentKind(kind)
    form = _form(kind)
    if request.method == "POST" and form.validate_on_submit():
        upload = _upload(form)
        if _wants_preview():
            return _preview(kind, form)
        if not form.errors:
            now = utcnow()
            values = form.values(_systems())
            schedule = Schedule(form.publish_at.utc(), form.unpublish_at.utc())
            item = editing.create_item(kind, values, schedule, current_user, request_origin(), now)
            if upload is not None:
                editing.attach_file(kind, item.id, upload, current_user, request_origin(), now)
            flash(_("已新增「%(title)s」。", title=_title(item)))
            return redirect(
                url_for("content_admin.edit_item", kind=kind.value, item_id=item.id), 303
            )
    elif request.method == "POST" and _wants_preview():
        return _preview(kind, form, status=422)
    status = 422 if form.is_submitted() else 200
    return render_template("content_admin/edit.html", **_context(kind, form, None)), status


@bp.route(f"/{KIND}/<int:item_id>", methods=["GET", "POST"])
@portal_admin_required
@allows_large_body("CONTENT_UPLOAD_MAX_BYTES")
def edit_item(kind: str, item_id: int):
    """Edit an item; ?version= fills the form with an earlier version to save again."""
    kind = ContentKind(kind)
    item = editing.item_of(kind, item_id)
    form = _form(kind)
    conflict = None
    if request.method == "GET":
        form.fill(item)
        _fill_from_version(kind, item, form)
    elif form.validate_on_submit():
        upload = _upload(form)
        if _wants_preview():
            return _preview(kind, form, item)
        if not form.errors:
            try:
                _save(kind, item, form, upload)
            except EditConflict as error:
                conflict = str(error)
            else:
                flash(_("已儲存「%(title)s」。", title=_title(item)))
                return redirect(
                    url_for("content_admin.edit_item", kind=kind.value, item_id=item_id), 303
                )
    elif _wants_preview():
        return _preview(kind, form, item, status=422)
    status = 409 if conflict else 422 if form.is_submitted() else 200
    page = render_template(
        "content_admin/edit.html", **_context(kind, form, item, conflict=conflict)
    )
    return page, status


def _save(kind: ContentKind, item, form: ItemForm, upload: files.Upload | None) -> None:
    now = utcnow()
    editing.update_item(
        kind,
        item.id,
        form.values(_systems()),
        Schedule(form.publish_at.utc(), form.unpublish_at.utc()),
        form.opened_version(),
        current_user,
        request_origin(),
        now,
    )
    if upload is not None:
        editing.attach_file(kind, item.id, upload, current_user, request_origin(), now)


def _fill_from_version(kind: ContentKind, item, form: ItemForm) -> None:
    """With ?version=N, the form shows that version's text (saved only when saved again)."""
    number = request.args.get("version", type=int)
    if number is None:
        return
    found = next((v for v in editing.versions(kind, item.id) if v.number == number), None)
    if found is None:
        return
    for name in form.text_fields():
        if name in found.snapshot:
            form[name].data = found.snapshot[name]
    flash(_("表單已填入第 %(number)d 版的內容，按「儲存」才會生效。", number=number))


def _upload(form: ItemForm) -> files.Upload | None:
    """The file chosen in the form, checked; its refusal goes next to the file field."""
    chosen = request.files.get("attachment")
    if chosen is None or not chosen.filename or not hasattr(form, "attachment"):
        return None
    try:
        return files.read_upload(chosen.stream, chosen.filename)
    except files.FileRefused as refusal:
        form.attachment.errors = [str(refusal.message)]
        return None


def _wants_preview() -> bool:
    return request.form.get("intent") == "preview"


def _preview(kind: ContentKind, form: ItemForm, item=None, status: int = 200):
    """The item as the public would see it, from what the form holds now (nothing saved)."""
    shown = _preview_item(kind, form, item) if not form.errors else None
    return page_or_fragment(
        "content_admin/edit.html",
        "content_admin/_preview.html",
        status,
        **_context(kind, form, item, preview=shown),
    )


def _preview_item(kind: ContentKind, form: ItemForm, item) -> SimpleNamespace:
    values = form.values(_systems())
    subsystems = {s.id: s for s in services.systems().offered}
    now = utcnow()
    return SimpleNamespace(
        **values,
        id=item.id if item else 0,
        subsystem=subsystems.get(values.get("subsystem_id")),
        publish_at=form.publish_at.utc(),
        updated_at=now,
    )


def _context(kind: ContentKind, form: ItemForm, item, **extra) -> dict:
    """What the edit page shows around the form: state, files, links."""
    return {
        "kind": kind,
        "form": form,
        "item": item,
        "state": editing.publication_state(item, utcnow()) if item else None,
        "owned_files": editing.files_of(item) if item else [],
        "admin_file_url": lambda stored: url_for(
            "content_admin.file", kind=kind.value, item_id=item.id, file_id=stored.id
        ),
        "public_url": _public_url(kind, item) if item else None,
        **extra,
    }


def _public_url(kind: ContentKind, item) -> str:
    return {
        ContentKind.ANNOUNCEMENT: lambda: url_for("content.announcement", announcement_id=item.id),
        ContentKind.DOWNLOAD: lambda: url_for("content.downloads_page") + f"#download-{item.id}",
        ContentKind.FAQ: lambda: url_for("content.faq") + f"#q{item.id}",
        ContentKind.GUIDE: lambda: url_for("content.guide_page", guide_id=item.id),
        ContentKind.CONTACT: lambda: url_for("content.contact"),
    }[kind]()


def _title(item) -> str:
    return editing.title_of(item)


def _back(kind: ContentKind, item_id: int):
    return redirect(url_for("content_admin.edit_item", kind=kind.value, item_id=item_id), 303)


@bp.post(f"/{KIND}/<int:item_id>/publish")
@portal_admin_required
def publish(kind: str, item_id: int):
    """Publish now, with no end date."""
    kind = ContentKind(kind)
    item = editing.publish_now(kind, item_id, current_user, request_origin(), utcnow())
    flash(_("「%(title)s」已上架。", title=_title(item)))
    return _back(kind, item_id)


@bp.post(f"/{KIND}/<int:item_id>/unpublish")
@portal_admin_required
def unpublish(kind: str, item_id: int):
    """Take down now; the item stays, to publish again."""
    kind = ContentKind(kind)
    item = editing.unpublish(kind, item_id, current_user, request_origin(), utcnow())
    flash(_("「%(title)s」已下架。", title=_title(item)))
    return _back(kind, item_id)


@bp.get(f"/{KIND}/<int:item_id>/delete")
@portal_admin_required
def confirm_delete(kind: str, item_id: int):
    """Ask before deleting: what goes, and that its history stays."""
    kind = ContentKind(kind)
    item = editing.item_of(kind, item_id)
    return render_template("content_admin/delete.html", kind=kind, item=item, title=_title(item))


@bp.post(f"/{KIND}/<int:item_id>/delete")
@portal_admin_required
def delete(kind: str, item_id: int):
    """Delete the item and its files (its versions stay in the history)."""
    kind = ContentKind(kind)
    title = _title(editing.item_of(kind, item_id))
    try:
        editing.delete_item(kind, item_id, current_user, request_origin(), utcnow())
    except BuiltInKept as refusal:
        flash(str(refusal))
        return _back(kind, item_id)
    flash(_("已刪除「%(title)s」。", title=title))
    return redirect(url_for("content_admin.items", kind=kind.value), 303)


@bp.post(f"/{KIND}/<int:item_id>/move")
@portal_admin_required
def move(kind: str, item_id: int):
    """Move an item up or down in the order the public sees."""
    kind = ContentKind(kind)
    if kind not in editing.ORDERED:
        return redirect(url_for("content_admin.items", kind=kind.value), 303)
    step = -1 if request.form.get("direction") == "up" else 1
    editing.move(kind, item_id, step, current_user, request_origin(), utcnow())
    return redirect(url_for("content_admin.items", kind=kind.value) + f"#item-{item_id}", 303)


@bp.post(f"/{KIND}/<int:item_id>/files")
@portal_admin_required
@allows_large_body("CONTENT_UPLOAD_MAX_BYTES")
def upload(kind: str, item_id: int):
    """Add an attachment or a picture, or replace a download's file."""
    kind = ContentKind(kind)
    item = editing.item_of(kind, item_id)
    chosen = request.files.get("attachment")
    try:
        checked = files.read_upload(chosen.stream, chosen.filename) if chosen else None
        if checked is None:
            raise files.FileRefused(_("沒有收到檔案，請選擇檔案後再上傳。"))
        stored = editing.attach_file(
            kind, item_id, checked, current_user, request_origin(), utcnow()
        )
    except (files.FileRefused, BuiltInKept) as refusal:
        form = _form(kind)
        form.fill(item)
        message = str(getattr(refusal, "message", refusal))
        page = render_template(
            "content_admin/edit.html", **_context(kind, form, item, upload_error=message)
        )
        return page, 422
    flash(_("已上傳「%(name)s」。", name=stored.original_name))
    return _back(kind, item_id)


@bp.post(f"/{KIND}/<int:item_id>/files/<int:file_id>/delete")
@portal_admin_required
def remove_file(kind: str, item_id: int, file_id: int):
    """Remove an attachment or a picture."""
    kind = ContentKind(kind)
    editing.remove_file(kind, item_id, file_id, current_user, request_origin(), utcnow())
    flash(_("已移除檔案。"))
    return _back(kind, item_id)


@bp.get(f"/{KIND}/<int:item_id>/files/<int:file_id>")
@portal_admin_required
def file(kind: str, item_id: int, file_id: int):
    """A file of the item whatever its state, downloaded (pictures shown) as the public would."""
    stored = editing.item_file(ContentKind(kind), item_id, file_id)
    return files.send_stored(stored, inline_pictures=True)


@bp.get(f"/{KIND}/<int:item_id>/history")
@portal_admin_required
def history(kind: str, item_id: int):
    """Every saved version of the item, who saved it and when, newest first."""
    kind = ContentKind(kind)
    found = editing.versions(kind, item_id)
    return render_template(
        "content_admin/history.html",
        kind=kind,
        item_id=item_id,
        versions=found,
        exists=editing.exists(kind, item_id),
    )
