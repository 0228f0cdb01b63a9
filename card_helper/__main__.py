"""`python -m card_helper` / `card-helper`: serve the card helper on 127.0.0.1."""

from __future__ import annotations

import argparse
import logging

from card_helper import __version__
from card_helper.backends import BACKENDS, make_backend
from card_helper.server import DEFAULT_PORT, HelperConfig, HelperServer, normalize_origin
from card_helper.service import CardService

logger = logging.getLogger("card_helper")


def _origin(text: str) -> str:
    """argparse type for --origin, with the reason in the error message."""
    try:
        return normalize_origin(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="card-helper",
        description="讀卡程式：讓入口網站以醫事機構卡驗證（只在本機 127.0.0.1 提供服務）。",
    )
    parser.add_argument("--version", action="version", version=f"card-helper {__version__}")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on; keep it a loopback address"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--origin",
        action="append",
        required=True,
        type=_origin,
        help="the portal's origin, e.g. https://portal.example; repeatable",
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="pcsc",
        help="pcsc: cards with the helper's APDU profile; pkcs11: vendor module",
    )
    parser.add_argument(
        "--pkcs11-module",
        metavar="PATH",
        help="the card vendor's PKCS#11 module (for --backend pkcs11)",
    )
    parser.add_argument("--reader", help="use only readers whose name contains this text")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds a card operation may take (default 30)"
    )
    parser.add_argument("--verbose", action="store_true", help="log debug messages")
    args = parser.parse_args(argv)
    if args.backend == "pkcs11" and not args.pkcs11_module:
        parser.error("--backend pkcs11 needs --pkcs11-module PATH")
    return args


def main(argv: list[str] | None = None) -> None:
    """Start the helper and serve until interrupted."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    backend = make_backend(args.backend, pkcs11_module=args.pkcs11_module, reader=args.reader)
    config = HelperConfig(
        origins=tuple(args.origin), host=args.host, port=args.port, timeout=args.timeout
    )
    service = CardService(backend, config.timeout)
    server = HelperServer(config, service)
    # Tests and launchers read this line to learn the port when --port 0 was given.
    print(
        f"card-helper listening on http://{args.host}:{server.port} "
        f"for {', '.join(args.origin)} ({backend.name})",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        logger.info("stopping")
    finally:
        server.server_close()
        service.close()


if __name__ == "__main__":
    main()
