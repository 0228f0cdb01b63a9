"""Demo content for `make run`: announcements, Q&A, guide pages with pictures, contact windows.

Loaded through the same service an administrator uses, so every item has its first version
and audit event and can be edited in 網站內容管理. A kind that already has items is left
alone: running it again changes nothing, and what an administrator wrote is never replaced.
The guide's pictures are screenshots of the portal, kept as static files.
"""

from datetime import timedelta

from sqlalchemy import func, select

from portal.accounts.models import Account
from portal.audit.services import Origin
from portal.content.editing import Schedule, create_item
from portal.content.models import (
    MODELS,
    AnnouncementCategory,
    ContentKind,
    FaqTopic,
    GuideKind,
)
from portal.db_types import utcnow
from portal.extensions import db
from portal.subsystems.models import Subsystem

ORIGIN = Origin(remote_addr="demo")

ANNOUNCEMENTS = (
    (
        AnnouncementCategory.SYSTEM,
        None,
        True,
        "單一入口系統正式上線，請各醫事機構人員申請個人帳號",
        "自即日起，預防保健及戒菸服務各子系統改由**單一入口**登入。\n\n"
        "- 新進人員請至「帳號申請」申請個人帳號。\n"
        "- 單位業務管理者請以醫事機構卡驗證，或列印申請表用印後上傳。\n\n"
        "操作方式請見[新手上路](/guide)。",
    ),
    (
        AnnouncementCategory.MAINTENANCE,
        None,
        True,
        "系統維護：每月第一個週六 22:00 至 24:00 暫停服務",
        "為維持系統穩定，每月第一個週六晚間進行例行維護，期間無法登入與申請帳號，造成不便，敬請見諒。",
    ),
    (
        AnnouncementCategory.SERVICE,
        "cessation",
        False,
        "戒菸服務系統：新年度戒菸服務補助申報說明",
        "新年度戒菸服務補助之申報期限與應備文件，請參閱附件說明。如有疑問，請洽諮詢窗口。",
    ),
    (
        AnnouncementCategory.EVENT,
        "oral-cancer",
        False,
        "口腔癌篩檢系統操作說明會報名開始",
        "本署將於北、中、南各辦理一場系統操作說明會，歡迎各醫事機構承辦人員報名參加。",
    ),
    (
        AnnouncementCategory.REGULATION,
        None,
        False,
        "預防保健服務單一入口帳號管理作業須知修正",
        "修正重點：\n\n1. 帳號不得多人共用。\n"
        "2. 人員離職時，單位業務管理者應於 3 個工作天內停用其帳號。",
    ),
    (
        AnnouncementCategory.SERVICE,
        "child-health",
        False,
        "兒童健康管理系統新增發展篩檢紀錄欄位",
        "兒童健康管理系統自下月起新增發展篩檢紀錄欄位，請相關人員留意。",
    ),
)

FAQ = (
    (
        FaqTopic.APPLYING,
        "我是新進人員，要怎麼申請帳號？",
        "到「[帳號申請](/register)」選擇服務機構與角色，填寫個人資料並勾選要使用的子系統。"
        "一般使用者由單位業務管理者核准；單位業務管理者須以機構卡或紙本驗證。",
    ),
    (
        FaqTopic.APPLYING,
        "申請送出後，怎麼知道進度？",
        "到「[申請進度查詢](/applications/status)」輸入申請編號與身分證字號，"
        "可看到目前的步驟、等待誰處理，以及預計完成日。",
    ),
    (
        FaqTopic.APPLYING,
        "為什麼選「一般使用者」時說機構沒有管理者？",
        "一般使用者的申請要由本機構的單位業務管理者核准。機構還沒有管理者時，"
        "請先由一位同仁申請單位業務管理者。",
    ),
    (
        FaqTopic.VERIFYING,
        "沒有機構卡或讀卡機，可以申請單位業務管理者嗎？",
        "可以。選「紙本審核」，列印系統預先填好的申請表，蓋上機構關防與負責人章，"
        "掃描後上傳；系統服務窗口會在 3 個工作天內審核。",
    ),
    (
        FaqTopic.VERIFYING,
        "機構卡驗證一直失敗怎麼辦？",
        "請確認讀卡機已接上、機構卡插好、已安裝[機構卡驗證元件](/downloads)，並輸入正確的 PIN 碼。"
        "仍無法驗證時，可改用紙本審核。",
    ),
    (
        FaqTopic.MANAGER,
        "同仁離職了，要怎麼停用他的帳號？",
        "以單位業務管理者登入，到「本機構使用者」找到該同仁，按「停用」並填寫原因。",
    ),
    (
        FaqTopic.MANAGER,
        "要換人擔任單位業務管理者，怎麼辦？",
        "登入後到「管理者異動」選擇「交接」，同時停用或降級原管理者並升級新管理者，"
        "再以機構卡驗證或列印異動表用印上傳。",
    ),
    (
        FaqTopic.SUBSYSTEMS,
        "子系統的使用權限由誰核准？",
        "每個子系統由該子系統的管理者核准。核准後，登入單一入口即可直接進入該子系統。",
    ),
    (
        FaqTopic.SIGN_IN,
        "忘記密碼怎麼辦？",
        "到「[忘記密碼](/password/forgot)」輸入帳號與電子郵件，"
        "系統會寄出重設密碼的連結，30 分鐘內有效。",
    ),
    (
        FaqTopic.SIGN_IN,
        "密碼有哪些規則？",
        "至少 8 個字元，須包含大寫與小寫英文字母、數字，以及特殊字元 `*~!=#` 其中之一；"
        "不可包含帳號或身分證字號。",
    ),
)

GUIDES = (
    (
        GuideKind.START,
        "步驟一：申請個人帳號",
        "選擇服務機構與角色，填寫資料，送出申請。",
        "## 1. 開啟帳號申請\n\n在首頁按「帳號申請」。\n\n"
        "![帳號申請的表單](/static/guide/register.png)\n\n"
        "## 2. 選擇服務機構與角色\n\n輸入機構代碼，或以名稱搜尋後點選。"
        "第一位申請的人請選「單位業務管理者」，其他同仁選「一般使用者」。\n\n"
        "## 3. 填寫個人資料與密碼\n\n密碼強度要達到「中」以上；欄位有誤時，說明會出現在欄位旁。\n\n"
        "## 4. 送出並記下申請編號\n\n送出後畫面會顯示申請編號，之後查詢進度時需要用到。",
    ),
    (
        GuideKind.START,
        "步驟二：以機構卡驗證管理者申請",
        "有醫事機構卡與讀卡機時，驗證完成帳號立即啟用。",
        "## 1. 安裝機構卡驗證元件\n\n到[下載專區](/downloads)下載「機構卡驗證元件」並安裝。\n\n"
        "## 2. 插入機構卡，輸入 PIN 碼\n\n"
        "![選擇驗證方式](/static/guide/verify.png)\n\n"
        "## 3. 按「驗證機構卡」\n\n驗證成功後，帳號立即啟用，可以登入。",
    ),
    (
        GuideKind.START,
        "步驟三：沒有機構卡時，以紙本審核",
        "列印申請表、用印、掃描上傳，3 個工作天內審核。",
        "## 1. 選擇紙本審核並列印申請表\n\n系統已預先填好資料，並印上申請編號與 QR Code。\n\n"
        "![紙本審核的上傳頁](/static/guide/paper.png)\n\n"
        "## 2. 蓋上機構關防與負責人章\n\n## 3. 掃描後上傳\n\n"
        "接受 PDF、JPEG 或 PNG。系統會讀取掃描檔上的 QR Code，確認是本件申請表。\n\n"
        "## 4. 等候審核\n\n可隨時以[申請進度查詢](/applications/status)查看進度。",
    ),
    (
        GuideKind.START,
        "步驟四：申請使用子系統",
        "申請帳號時勾選子系統，由各子系統管理者核准。",
        "## 1. 在申請時勾選子系統\n\n只需要查詢篩檢結果的人可以不勾選。\n\n"
        "## 2. 等候子系統管理者核准\n\n每個子系統各自審核。\n\n"
        "## 3. 在「我的帳號」查看結果\n\n"
        "![我的帳號中的子系統狀態](/static/guide/account.png)",
    ),
    (
        GuideKind.HANDBOOK,
        "單位業務管理者的工作",
        "核准同仁的申請、停用離職人員、辦理管理者異動。",
        "## 核准同仁的帳號申請\n\n登入後到「帳號審核」，開啟申請，確認身分後按「核准」；"
        "不核准時請填寫原因。\n\n"
        "![帳號審核的清單](/static/guide/manager.png)\n\n"
        "## 停用離職人員\n\n到「本機構使用者」按「停用」並填寫原因。\n\n"
        "## 更換管理者\n\n到「管理者異動」選擇交接，詳見[常見問答](/faq#topic-manager)。",
    ),
    (
        GuideKind.HANDBOOK,
        "查詢申請進度",
        "以申請編號與身分證字號查詢目前步驟與預計完成日。",
        "## 輸入申請編號與身分證字號\n\n"
        "![申請進度查詢](/static/guide/status.png)\n\n"
        "## 看懂進度\n\n"
        "畫面會列出已完成的步驟、目前的步驟、等待誰處理，以及以工作天計算的預計完成日。",
    ),
)

CONTACTS = (
    (
        "國民健康署 系統服務窗口（駐點人員）",
        "帳號申請、紙本審核、管理者異動",
        "林小姐、陳先生",
        "(02) 2522-0888 分機 123",
        "portal-help@hpa.example.gov.tw",
        "週一至週五 08:30–17:30（國定假日除外）",
    ),
    (
        "系統廠商客服中心",
        "無法登入、機構卡驗證元件、系統錯誤",
        "客服專員",
        "0800-000-123",
        "support@vendor.example.com.tw",
        "週一至週五 08:00–20:00；週六 09:00–12:00",
    ),
    (
        "各子系統業務窗口",
        "戒菸服務、癌症篩檢等業務與補助",
        "各業務組承辦人",
        "(02) 2522-0888",
        "",
        "週一至週五 08:30–17:30",
    ),
)


def load_demo_content(author: Account) -> list[str]:
    """Add the demo items of each kind that has none yet; what was added."""
    report = []
    if _empty(ContentKind.ANNOUNCEMENT):
        _announcements(author)
        report.append(f"announcements: {len(ANNOUNCEMENTS)}")
    if _empty(ContentKind.FAQ):
        for topic, question, answer in FAQ:
            _create(ContentKind.FAQ, author, topic=topic, question=question, answer=answer)
        report.append(f"Q&A: {len(FAQ)}")
    if _empty(ContentKind.GUIDE):
        for kind, title, summary, body in GUIDES:
            _create(ContentKind.GUIDE, author, kind=kind, title=title, summary=summary, body=body)
        report.append(f"guide pages: {len(GUIDES)}")
    if _empty(ContentKind.CONTACT):
        for name, topics, people, phone, email, hours in CONTACTS:
            _create(
                ContentKind.CONTACT,
                author,
                name=name,
                topics=topics,
                people=people,
                phone=phone,
                email=email,
                hours=hours,
            )
        report.append(f"contact windows: {len(CONTACTS)}")
    return report


def _empty(kind: ContentKind) -> bool:
    return not db.session.scalar(select(func.count()).select_from(MODELS[kind]))


def _announcements(author: Account) -> None:
    codes = {s.code: s.id for s in db.session.scalars(select(Subsystem))}
    now = utcnow()
    # Oldest first, a few days apart, so the list shows a range of 發佈日期.
    for days_ago, (category, code, pinned, title, body) in zip(
        range(len(ANNOUNCEMENTS) * 3, 0, -3), ANNOUNCEMENTS, strict=False
    ):
        _create(
            ContentKind.ANNOUNCEMENT,
            author,
            published=now - timedelta(days=days_ago),
            category=category,
            subsystem_id=codes.get(code),
            pinned=pinned,
            title=title,
            body=body,
        )


def _create(content_kind: ContentKind, author: Account, /, published=None, **values) -> None:
    moment = published or utcnow()
    create_item(content_kind, values, Schedule(moment), author, ORIGIN, moment)
