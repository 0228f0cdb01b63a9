"""What gunicorn serves: `gunicorn wsgi:app`."""

import os
import sys
from pathlib import Path

from portal import create_app


def _config_name() -> str | None:
    """The configuration to build; None means PORTAL_ENV, else production.

    `flask --app wsgi …` in a checkout with neither PORTAL_ENV nor DATABASE_URL set can only
    mean a developer on the local SQLite file, so it gets development settings (keys
    generated into instance/). gunicorn, and any command pointed at a real database, get
    production unless told otherwise, and production refuses to start without its keys.
    """
    if "PORTAL_ENV" in os.environ or "DATABASE_URL" in os.environ:
        return None
    return "development" if Path(sys.argv[0]).name == "flask" else None


app = create_app(_config_name())
