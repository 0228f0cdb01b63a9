"""Believing X-Forwarded-* only from the reverse proxies the deployment names.

ProxyFix alone trusts the last TRUSTED_PROXIES entries whoever sent them: a client that
reaches a node directly (a mis-set firewall, a neighbour on the node network) could name
any address and so escape its rate limits and lockouts. With TRUSTED_PROXY_ADDRESSES set,
the headers count only when the connection itself comes from one of those addresses.
"""

from ipaddress import ip_address, ip_network

from werkzeug.middleware.proxy_fix import ProxyFix

FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
)


class TrustedProxyFix:
    """ProxyFix for connections from the trusted proxies; the headers dropped otherwise."""

    def __init__(self, app, hops: int, addresses: list[str]) -> None:
        self.app = app
        self.fixed = ProxyFix(app, x_for=hops, x_proto=1)
        self.networks = [ip_network(item, strict=False) for item in addresses]

    def _from_proxy(self, peer: str) -> bool:
        try:
            address = ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def __call__(self, environ, start_response):
        """Hand the request on, with the forwarded address believed or the headers gone."""
        if self._from_proxy(environ.get("REMOTE_ADDR", "")):
            return self.fixed(environ, start_response)
        for name in FORWARDED_HEADERS:
            environ.pop(name, None)
        return self.app(environ, start_response)


def wrap_for_proxies(app) -> None:
    """Install the proxy handling the settings ask for (none when TRUSTED_PROXIES is 0)."""
    hops = app.config["TRUSTED_PROXIES"]
    if not hops:
        return
    addresses = app.config["TRUSTED_PROXY_ADDRESSES"]
    if addresses:
        app.wsgi_app = TrustedProxyFix(app.wsgi_app, hops, addresses)
    else:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=1)
