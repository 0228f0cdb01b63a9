"""`flask import-institutions`: bad rows reported with line numbers, re-import updates."""

from sqlalchemy import func, select

from portal.extensions import db
from portal.institutions.models import Institution

CSV = """機構代碼,機構名稱,機構類別,縣市
3999100001,新竹測試診所,診所,新竹市
39991,壞代碼診所,診所,新竹市
3999100002,苗栗測試衛生所,衛生所,苗栗縣
3999100003,奇怪縣診所,診所,火星縣
"""


def test_import_reports_bad_rows_and_keeps_good_ones(live_app, tmp_path):
    path = tmp_path / "institutions.csv"
    path.write_bytes(CSV.encode("cp950"))
    runner = live_app.test_cli_runner()
    result = runner.invoke(args=["import-institutions", str(path)])
    assert result.exit_code == 0
    assert "第 3 行" in result.output and "第 5 行" in result.output
    assert "新增 2" in result.output

    path.write_text(CSV.replace("新竹測試診所", "新竹測試聯合診所"), encoding="utf-8")
    result = runner.invoke(args=["import-institutions", str(path)])
    assert "新增 0、更新 1、未變更 1" in result.output
    with live_app.app_context():
        names = db.session.scalars(
            select(Institution.name).where(Institution.code.like("39991%"))
        ).all()
        assert sorted(names) == ["新竹測試聯合診所", "苗栗測試衛生所"]
        assert db.session.scalar(select(func.count()).select_from(Institution)) == 2


def test_load_demo_is_idempotent(live_app):
    runner = live_app.test_cli_runner()
    first = runner.invoke(args=["load-demo"])
    second = runner.invoke(args=["load-demo"])
    assert first.exit_code == second.exit_code == 0
    with live_app.app_context():
        clinic = db.session.scalar(select(Institution).where(Institution.code == "3501200000"))
        assert clinic.name == "臺北虛擬診所"
        assert db.session.scalar(select(func.count()).select_from(Institution)) >= 200
