"""`python -m demo_rp`: serve the demo relying party (settings from the environment)."""

import os

from demo_rp.app import create_app


def main() -> None:
    """Serve on 127.0.0.1:$RP_PORT with Werkzeug's threaded server."""
    port = int(os.environ.get("RP_PORT", "5001"))
    create_app().run(host="127.0.0.1", port=port, threaded=True)


if __name__ == "__main__":
    main()
