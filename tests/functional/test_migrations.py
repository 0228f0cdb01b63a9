"""The schema comes only from migrations: the models must not have drifted from them."""


def test_flask_db_check_finds_no_drift(app):
    # Flask-Migrate exits 1 ("New upgrade operations detected") when autogenerate would
    # write an upgrade; its success message goes to alembic's logger, not to click.
    result = app.test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output
