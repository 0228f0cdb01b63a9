"""管理者異動: file a change, verify it with the card or on paper, follow it."""

from flask import Blueprint

from portal.changes import models  # noqa: F401  (the tables, for every process that serves)

bp = Blueprint("changes", __name__, template_folder="templates", url_prefix="/manager-changes")
