"""Public pages: home, announcements and their feed, downloads, Q&A, guides, contact
windows, the site map and the policies; and the health check."""

from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from portal.content import downloads, files, labels, services
from portal.content.markdown import plain_text, render_markdown
from portal.content.models import Announcement, ContactWindow, Download, FaqEntry, GuidePage
from portal.db_types import utcnow
from portal.mail import external_url
from portal.redirects import safe_next
from portal.rendering import page_or_fragment

bp = Blueprint("content", __name__, template_folder="templates")
# When the pages' own text last changed (they live in templates): the date of the site map
# and the policies, and of a list that has no published item to date it.
PAGES_REVISED = date(2026, 12, 1)


@bp.app_context_processor
def content_helpers() -> dict:
    """The site's words, its Markdown renderer and file types, for every template."""
    return {
        "content_labels": labels,
        "markdown": render_markdown,
        "file_type_label": files.type_label,
    }


@bp.app_template_filter("filesize")
def filesize(size: int) -> str:
    """A file's size as people read it: 850 bytes, 12.3 KB, 4.5 MB."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


@bp.get("/")
def home():
    """The portal's front page: what it is for, and the pinned and latest announcements."""
    shown = services.home_announcements(utcnow())
    return render_template(
        "content/home.html",
        pinned=shown.pinned,
        latest=shown.latest,
        category_names=labels.translated(labels.ANNOUNCEMENT_CATEGORY_LABELS),
        last_updated=shown.last_updated or PAGES_REVISED,
    )


def _filter() -> services.Filter:
    """The list's filter as the visitor's address gives it, cut to sensible lengths."""
    return services.Filter(
        category=request.args.get("category", "")[:20],
        system=request.args.get("system", "")[:40],
        keyword=" ".join(request.args.get("q", "").split())[: services.KEYWORD_MAX],
    )


@bp.get("/announcements")
def announcements():
    """公告事項: pinned first, then newest; by 分類, 系統 and keyword; "更多公告" reads on."""
    now = utcnow()
    chosen = _filter()
    after = services.ListPosition.from_token(request.args.get("after", "")[:80])
    items, following = services.announcements(chosen, now, after)
    return page_or_fragment(
        "content/announcements.html",
        "content/_announcement_rows.html" if after else "content/_announcement_results.html",
        items=items,
        following=following,
        after=after,
        chosen=chosen,
        systems=services.systems(),
        category_names=labels.translated(labels.ANNOUNCEMENT_CATEGORY_LABELS),
        last_updated=services.last_updated(Announcement, now) or PAGES_REVISED,
    )


@bp.get("/announcements/<int:announcement_id>")
def announcement(announcement_id: int):
    """One announcement: its text, attachments, 發佈日期 and 更新日期."""
    item = services.announcement(announcement_id, utcnow())
    return render_template(
        "content/announcement.html",
        item=item,
        attachments=item.attachments,
        attachment_url=lambda stored: url_for(
            "content.attachment", announcement_id=item.id, file_id=stored.id
        ),
        last_updated=item.updated_at,
    )


@bp.get("/announcements/<int:announcement_id>/files/<int:file_id>")
def attachment(announcement_id: int, file_id: int):
    """An attachment of a published announcement, downloaded under its own name."""
    return files.send_stored(services.attachment(announcement_id, file_id, utcnow()))


@bp.get("/announcements.atom")
def feed():
    """The newest announcements as an Atom feed, its links on the portal's own address."""
    now = utcnow()
    items = services.feed_announcements(now)
    body = render_template(
        "content/feed.xml",
        items=items,
        updated=services.last_updated(Announcement, now) or now,
        external_url=external_url,
        summary=plain_text,
    )
    response = make_response(body)
    response.mimetype = "application/atom+xml"
    return response


@bp.get("/downloads")
def downloads_page():
    """下載專區: every published file with its date, size, type and SHA-256."""
    now = utcnow()
    chosen = _filter()
    return page_or_fragment(
        "content/downloads.html",
        "content/_download_results.html",
        items=services.download_items(chosen, now),
        chosen=chosen,
        systems=services.systems(),
        last_updated=services.last_updated(Download, now) or PAGES_REVISED,
    )


@bp.get("/downloads/<int:download_id>/file")
def download_file(download_id: int):
    """The file of a published download: built in, or as uploaded."""
    item = services.download(download_id, utcnow())
    if item.builtin_key:
        response = downloads.send_built_in(item.builtin_key)
        if response is None:
            abort(404)
        return response
    if item.file is None:
        abort(404)
    return files.send_stored(item.file)


@bp.get("/downloads/manager-change-form.pdf")
def blank_manager_form():
    """The blank 管理者帳號申請、異動表, for those who fill it in by hand (a stable URL)."""
    return downloads.public_pdf(
        downloads.blank_manager_form_pdf(),
        downloads.BLANK_MANAGER_FORM_NAME,
        downloads.BLANK_MANAGER_FORM_ASCII_NAME,
    )


@bp.get("/faq")
def faq():
    """常見問答 by topic, each question with its own anchor; ?q= finds words in them."""
    now = utcnow()
    keyword = _filter().keyword
    return page_or_fragment(
        "content/faq.html",
        "content/_faq_results.html",
        groups=services.faq_groups(keyword, now),
        keyword=keyword,
        last_updated=services.last_updated(FaqEntry, now) or PAGES_REVISED,
    )


@bp.get("/guide")
def guide():
    """新手上路 and 新手指南: their pages, in order."""
    now = utcnow()
    return render_template(
        "content/guide.html",
        pages=services.guide_pages(now),
        last_updated=services.last_updated(GuidePage, now) or PAGES_REVISED,
    )


@bp.get("/guide/<int:guide_id>")
def guide_page(guide_id: int):
    """One guide page: its steps and pictures, with the pages before and after it."""
    now = utcnow()
    page = services.guide_page(guide_id, now)
    siblings = services.guide_pages(now)[page.kind]
    index = next(i for i, other in enumerate(siblings) if other.id == page.id)
    return render_template(
        "content/guide_page.html",
        page=page,
        previous=siblings[index - 1] if index > 0 else None,
        following=siblings[index + 1] if index + 1 < len(siblings) else None,
        last_updated=page.updated_at,
    )


@bp.get("/guide/<int:guide_id>/pictures/<int:file_id>")
def guide_picture(guide_id: int, file_id: int):
    """A picture of a published guide page, shown in the page."""
    stored = services.guide_picture(guide_id, file_id, utcnow())
    return files.send_stored(stored, inline_pictures=True)


@bp.get("/contact")
def contact():
    """諮詢窗口: who answers what, and how to reach them."""
    now = utcnow()
    return render_template(
        "content/contact.html",
        windows=services.contact_windows(now),
        last_updated=services.last_updated(ContactWindow, now) or PAGES_REVISED,
    )


@bp.get("/sitemap")
def sitemap():
    """網站導覽: every public page, and the keys to move around them."""
    return render_template("content/sitemap.html", last_updated=PAGES_REVISED)


@bp.get("/privacy")
def privacy():
    """隱私權及資訊安全政策."""
    return render_template("content/privacy.html", last_updated=PAGES_REVISED)


@bp.get("/accessibility")
def accessibility():
    """無障礙聲明."""
    return render_template("content/accessibility.html", last_updated=PAGES_REVISED)


@bp.get("/language/<code>")
def set_language(code: str):
    """Remember the chosen language and go back where the person was."""
    if code in current_app.config["LANGUAGES"]:
        session["language"] = code
    # Only paths on this site: an open redirect would help phishing.
    return redirect(safe_next(request.args.get("next")) or url_for("content.home"))
