"""The public site as anyone sees it: announcements (filters, paging, pinned, publish window,
feed), downloads, Q&A, guides, contact windows and the policy pages."""

import hashlib
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from portal.content import downloads
from portal.content.models import (
    Announcement,
    AnnouncementCategory,
    ContactWindow,
    ContentFile,
    Download,
    FaqEntry,
    FaqTopic,
    GuideKind,
    GuidePage,
)
from portal.content.services import PAGE_SIZE
from portal.db_types import utcnow
from portal.extensions import db
from portal.subsystems.models import Subsystem
from tests.functional.helpers import text_of

HX = {"HX-Request": "true"}
PUBLIC_PAGES = (
    "/",
    "/announcements",
    "/downloads",
    "/faq",
    "/guide",
    "/contact",
    "/sitemap",
    "/privacy",
    "/accessibility",
)


def announcement(title: str, published: datetime | None, **values) -> Announcement:
    item = Announcement(
        title=title,
        category=values.pop("category", AnnouncementCategory.SYSTEM),
        body=values.pop("body", "內文"),
        publish_at=published,
        created_at=published or utcnow(),
        updated_at=values.pop("updated_at", published or utcnow()),
        **values,
    )
    db.session.add(item)
    db.session.flush()
    return item


def rows(html: str) -> list[str]:
    """The titles of the announcement table's rows, in order."""
    table = html[html.index('id="announcement-table"') :]
    return re.findall(r'<a href="/announcements/\d+">([^<]*)</a>', table)


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_every_public_page_has_breadcrumbs_a_date_and_the_footer_links(client, db_session, path):
    announcement("公告", utcnow() - timedelta(days=1))
    response = client.get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert text_of(html, "breadcrumbs").startswith("目前位置：")
    assert re.search(r"最後更新日期：\d{4}-\d{2}-\d{2}", text_of(html, "last-updated") or "")
    footer = text_of(html, "footer-links")
    for words in ("網站導覽", "隱私權及資訊安全政策", "無障礙聲明"):
        assert words in footer
    assert 'lang="zh-Hant-TW"' in html and '<main id="main"' in html


@pytest.mark.parametrize(
    ("path", "current"),
    [("/announcements", "公告事項"), ("/downloads", "下載專區"), ("/faq", "常見問答"),
     ("/guide", "新手上路"), ("/contact", "諮詢窗口")],
)  # fmt: skip
def test_the_current_page_is_marked_in_the_navigation(client, db_session, path, current):
    html = client.get(path).get_data(as_text=True)
    nav = html[html.index('id="public-nav"') :]
    nav = nav[: nav.index("</nav>")]
    assert re.findall(r'aria-current="page">([^<]*)</a>', nav) == [current]


def test_the_english_chrome(client, db_session):
    announcement("系統上線", utcnow())
    client.get("/language/en")
    html = client.get("/announcements").get_data(as_text=True)
    assert 'lang="en"' in html and "You are here" in html and "Announcements" in html
    assert "System notice" in text_of(html, "announcement-table")
    assert "System notice" in text_of(client.get("/").get_data(as_text=True), "home-announcements")


def test_announcements_pinned_first_then_newest_with_their_columns(client, db_session):
    now = utcnow()
    cessation = db_session.scalar(select(Subsystem).where(Subsystem.code == "cessation"))
    announcement("舊的置頂", now - timedelta(days=30), pinned=True)
    announcement("昨天的", now - timedelta(days=1), subsystem_id=cessation.id)
    announcement("今天的", now - timedelta(hours=1), category=AnnouncementCategory.EVENT)
    html = client.get("/announcements").get_data(as_text=True)
    assert rows(html) == ["舊的置頂", "今天的", "昨天的"]
    table = text_of(html, "announcement-table")
    for heading in ("分類", "系統", "標題", "發佈日期"):
        assert heading in table
    assert "戒菸服務系統" in table and "活動訊息" in table


def test_filters_by_category_system_and_keyword(client, db_session):
    now = utcnow()
    oral = db_session.scalar(select(Subsystem).where(Subsystem.code == "oral-cancer"))
    announcement("口腔癌說明會", now, category=AnnouncementCategory.EVENT, subsystem_id=oral.id)
    announcement("系統維護", now, category=AnnouncementCategory.MAINTENANCE)
    announcement("新年度補助", now, body="戒菸補助的申報", category=AnnouncementCategory.SERVICE)
    assert rows(client.get("/announcements?category=event").get_data(as_text=True)) == [
        "口腔癌說明會"
    ]
    assert rows(client.get("/announcements?system=oral-cancer").get_data(as_text=True)) == [
        "口腔癌說明會"
    ]
    assert "口腔癌說明會" not in client.get("/announcements?system=portal").get_data(as_text=True)
    # The keyword is looked for in the text too, and % or _ are only characters.
    assert rows(client.get("/announcements?q=申報").get_data(as_text=True)) == ["新年度補助"]
    empty = client.get("/announcements?q=%25").get_data(as_text=True)
    assert "查無符合條件的公告" in text_of(empty, "announcements-empty")
    assert 'value="%"' in empty


def test_more_announcements_read_on_where_the_page_ended(client, db_session):
    now = utcnow()
    for number in range(PAGE_SIZE + 5):
        announcement(f"公告{number:03d}", now - timedelta(minutes=number))
    first = client.get("/announcements").get_data(as_text=True)
    assert rows(first) == [f"公告{n:03d}" for n in range(PAGE_SIZE)]
    more = re.search(r'<tr id="announcements-more">\s*<td colspan="4"><a href="([^"]+)"', first)
    link = more.group(1).replace("&amp;", "&")
    fragment = client.get(link, headers=HX)
    html = fragment.get_data(as_text=True)
    assert html.lstrip().startswith("<tbody>") and "<html" not in html
    assert re.findall(r'<a href="/announcements/\d+">([^<]*)</a>', html) == [
        f"公告{n:03d}" for n in range(PAGE_SIZE, PAGE_SIZE + 5)
    ]
    assert "announcements-more" not in html
    page = client.get(link).get_data(as_text=True)
    assert "<html" in page and rows(page)[0] == f"公告{PAGE_SIZE:03d}"


def test_the_filter_form_answers_htmx_with_the_results_only(client, db_session):
    announcement("找得到的", utcnow())
    response = client.get("/announcements?q=找得到", headers=HX)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="announcement-results"')
    assert "HX-Request" in response.headers["Vary"]
    restored = client.get(
        "/announcements?q=找得到", headers={**HX, "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restored.get_data(as_text=True)


@pytest.mark.parametrize("cursor", ["x", "1_", "2_2026-01-01T00:00:00+00:00_1", "1_2026_1"])
def test_a_cursor_that_is_not_one_starts_at_the_top(client, db_session, cursor):
    announcement("第一則", utcnow())
    assert rows(client.get(f"/announcements?after={cursor}").get_data(as_text=True)) == ["第一則"]


def test_publish_and_unpublish_times_with_a_frozen_clock(client, db_session):
    start = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # 09:00 in Taipei
    item = announcement("六月公告", start, unpublish_at=start + timedelta(days=7))
    with time_machine.travel(start - timedelta(seconds=1), tick=False) as clock:
        assert client.get(f"/announcements/{item.id}").status_code == 404
        assert "六月公告" not in client.get("/").get_data(as_text=True)
        clock.move_to(start)
        page = client.get(f"/announcements/{item.id}").get_data(as_text=True)
        assert text_of(page, "announcement-published") == "2026-06-01"
        assert "六月公告" in client.get("/").get_data(as_text=True)
        assert "六月公告" in client.get("/announcements.atom").get_data(as_text=True)
        clock.move_to(start + timedelta(days=7) - timedelta(seconds=1))
        assert client.get(f"/announcements/{item.id}").status_code == 200
        clock.move_to(start + timedelta(days=7))
        assert client.get(f"/announcements/{item.id}").status_code == 404
        assert "六月公告" not in client.get("/announcements").get_data(as_text=True)
        assert "六月公告" not in client.get("/announcements.atom").get_data(as_text=True)


def test_a_draft_is_nowhere(client, db_session):
    item = announcement("草稿", None)
    assert client.get(f"/announcements/{item.id}").status_code == 404
    assert "草稿" not in client.get("/announcements").get_data(as_text=True)


def test_an_announcements_own_page(client, db_session, uploads):
    published = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    item = announcement(
        "申報說明", published, body="請見附件。", updated_at=published + timedelta(days=3)
    )
    attached = ContentFile(
        stored_name="abc.pdf",
        original_name="申報說明.pdf",
        content_type="application/pdf",
        size=2048,
        sha256="0" * 64,
        announcement_id=item.id,
    )
    db_session.add(attached)
    db_session.flush()
    html = client.get(f"/announcements/{item.id}").get_data(as_text=True)
    assert text_of(html, "announcement-title") == "申報說明"
    assert text_of(html, "announcement-published") == "2026-03-01"
    assert text_of(html, "announcement-updated") == "2026-03-04"
    assert "申報說明.pdf" in text_of(html, "announcement-attachments")
    assert "2.0 KB" in text_of(html, "announcement-attachments")
    crumbs = text_of(html, "breadcrumbs")
    assert "公告事項" in crumbs and crumbs.endswith("申報說明")


def test_the_home_page_shows_pinned_and_latest(client, db_session):
    now = utcnow()
    announcement("置頂公告", now - timedelta(days=40), pinned=True)
    for number in range(7):
        announcement(f"最新{number}", now - timedelta(days=number))
    html = text_of(client.get("/").get_data(as_text=True), "home-announcements")
    assert "置頂公告" in html
    assert all(f"最新{n}" in html for n in range(5)) and "最新6" not in html
    assert html.index("置頂公告") < html.index("最新0")


def test_the_atom_feed(client, db_session, app):
    announcement("第一則", utcnow() - timedelta(hours=2), body="**粗體** 與 <b>標籤</b>")
    response = client.get("/announcements.atom", headers={"Host": "evil.example"})
    assert response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entry = feed.find("a:entry", ns)
    assert entry.find("a:title", ns).text == "第一則"
    link = entry.find("a:link", ns).get("href")
    assert link.startswith(app.config["EXTERNAL_BASE_URL"]) and "evil" not in link
    assert entry.find("a:summary", ns).text == "粗體 與 <b>標籤</b>"


def test_downloads_list_the_blank_form_with_its_facts(client, db_session):
    html = client.get("/downloads").get_data(as_text=True)
    blank = db_session.scalar(select(Download).where(Download.builtin_key == "manager-change-form"))
    row = text_of(html, f"download-{blank.id}")
    pdf = downloads.blank_manager_form_pdf()
    assert "管理者帳號申請、異動表" in row and "PDF" in row
    assert hashlib.sha256(pdf).hexdigest() in row
    assert f"{len(pdf) / 1024:.1f} KB" in row
    response = client.get(f"/downloads/{blank.id}/file")
    assert response.data == pdf and response.headers["Content-Disposition"].startswith(
        "attachment;"
    )


def test_the_card_helper_is_listed_and_offered_once_built(client, db_session, app, tmp_path):
    helper = db_session.scalar(select(Download).where(Download.builtin_key == "card-helper"))
    saved = app.config["BUILT_DOWNLOADS_DIR"]
    app.config["BUILT_DOWNLOADS_DIR"] = str(tmp_path)
    try:
        row = text_of(client.get("/downloads").get_data(as_text=True), f"download-{helper.id}")
        assert "機構卡驗證元件" in row and "準備中" in row
        assert client.get(f"/downloads/{helper.id}/file").status_code == 404
        package = b"PK\x03\x04 the built package"
        (tmp_path / downloads.CARD_HELPER_FILE).write_bytes(package)
        row = text_of(client.get("/downloads").get_data(as_text=True), f"download-{helper.id}")
        assert "準備中" not in row and hashlib.sha256(package).hexdigest() in row
        response = client.get(f"/downloads/{helper.id}/file")
        assert response.data == package
        assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    finally:
        app.config["BUILT_DOWNLOADS_DIR"] = saved


def test_downloads_filter_by_system_category_and_keyword(client, db_session):
    html = client.get("/downloads?category=software").get_data(as_text=True)
    assert "機構卡驗證元件" in html and "管理者帳號申請" not in text_of(html, "download-results")
    html = client.get("/downloads?q=異動表", headers=HX).get_data(as_text=True)
    assert html.lstrip().startswith('<div id="download-results"') and "管理者帳號申請" in html
    assert "查無符合" in client.get("/downloads?system=cessation").get_data(as_text=True)


def test_faq_grouped_by_topic_with_anchors_and_a_search(client, db_session):
    now = utcnow()
    for topic, question, answer in (
        (FaqTopic.SIGN_IN, "忘記密碼怎麼辦？", "用忘記密碼的連結。"),
        (FaqTopic.APPLYING, "怎麼申請帳號？", "到帳號申請。"),
        (FaqTopic.APPLYING, "草稿的問題", "不該出現"),
    ):
        entry = FaqEntry(topic=topic, question=question, answer=answer, publish_at=now)
        if question == "草稿的問題":
            entry.publish_at = None
        db_session.add(entry)
    db_session.flush()
    html = client.get("/faq").get_data(as_text=True)
    assert html.index('id="topic-applying"') < html.index('id="topic-sign-in"')
    entry = db_session.scalar(select(FaqEntry).where(FaqEntry.question == "怎麼申請帳號？"))
    assert f'id="q{entry.id}"' in html and f'href="#q{entry.id}"' in html
    assert "草稿的問題" not in html
    found = client.get("/faq?q=密碼", headers=HX).get_data(as_text=True)
    assert found.lstrip().startswith('<div id="faq-results"')
    assert "忘記密碼怎麼辦？" in found and "怎麼申請帳號？" not in found
    none = client.get("/faq?q=颱風").get_data(as_text=True)
    assert "查無含「颱風」的問答" in text_of(none, "faq-empty")


def test_guides_in_order_with_pictures(client, db_session, uploads):
    now = utcnow()
    pages = []
    for position, title in enumerate(("申請帳號", "機構卡驗證")):
        page = GuidePage(
            kind=GuideKind.START,
            title=title,
            body=f"## 步驟\n\n![畫面](/static/guide/register.png)\n\n{title}的說明",
            position=position,
            publish_at=now,
        )
        db_session.add(page)
        pages.append(page)
    db_session.flush()
    index = client.get("/guide").get_data(as_text=True)
    assert index.index("申請帳號") < index.index("機構卡驗證")
    html = client.get(f"/guide/{pages[0].id}").get_data(as_text=True)
    assert '<img src="/static/guide/register.png" alt="畫面">' in html
    assert f'href="/guide/{pages[1].id}" rel="next"' in html
    assert client.get("/static/guide/register.png").status_code == 200


def test_contact_windows(client, db_session):
    db_session.add(
        ContactWindow(
            name="系統服務窗口",
            people="林小姐",
            phone="(02) 2522-0888",
            email="help@hpa.example.gov.tw",
            hours="週一至週五",
            publish_at=utcnow(),
        )
    )
    db_session.flush()
    table = text_of(client.get("/contact").get_data(as_text=True), "contact-table")
    for words in (
        "系統服務窗口",
        "林小姐",
        "(02) 2522-0888",
        "help@hpa.example.gov.tw",
        "週一至週五",
    ):
        assert words in table


def test_the_site_map_links_every_public_page(client, db_session):
    html = client.get("/sitemap").get_data(as_text=True)
    for path in PUBLIC_PAGES[1:] + ("/register", "/applications/status", "/login"):
        assert f'href="{path}"' in html


def test_load_demo_fills_the_site_and_changes_nothing_the_second_time(live_app):
    runner = live_app.test_cli_runner()
    assert runner.invoke(args=["load-demo"]).exit_code == 0
    with live_app.app_context():
        counts = [
            db.session.query(model).count()
            for model in (Announcement, FaqEntry, GuidePage, ContactWindow)
        ]
        assert all(counts)
    assert runner.invoke(args=["load-demo"]).exit_code == 0
    with live_app.app_context():
        again = [
            db.session.query(model).count()
            for model in (Announcement, FaqEntry, GuidePage, ContactWindow)
        ]
    assert again == counts
    client = live_app.test_client()
    guide = client.get("/guide").get_data(as_text=True)
    first = re.search(r'href="(/guide/\d+)"', guide).group(1)
    page = client.get(first).get_data(as_text=True)
    for picture in re.findall(r'<img src="(/static/guide/[^"]+)"', page):
        assert client.get(picture).status_code == 200
