"""HTTP security headers added to every response."""

from flask import Flask, Response, g, request


def content_security_policy(card_helper_url: str, form_action: tuple[str, ...] = ()) -> str:
    """No inline scripts or styles anywhere; scripts may reach only us and the card helper.

    htmx is told not to inject its indicator styles, and every script is a static file.
    Forms post only to us; `form_action` adds the origins a form may lead on to through
    redirects (a sign-in that goes on to a subsystem).
    """
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src 'self' {card_helper_url}",
            "object-src 'none'",
            "base-uri 'self'",
            " ".join(("form-action 'self'", *form_action)),
            "frame-ancestors 'none'",
        ]
    )


def init_security_headers(app: Flask) -> None:
    """Register the after-request hook that sets the headers."""
    from portal.auth.session import holds_a_person

    policy = content_security_policy(app.config["CARD_HELPER_URL"])

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        extra = tuple(getattr(g, "form_action_origins", ()))
        response.headers.setdefault(
            "Content-Security-Policy",
            content_security_policy(app.config["CARD_HELPER_URL"], extra) if extra else policy,
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        if request.endpoint != "static" and holds_a_person():
            # A signed-in person's pages and fragments (their account, applicants, a
            # revealed ID number, an authenticator seed) must not stay in a shared PC's
            # history or a proxy's cache. Static files are the same for everyone.
            response.headers["Cache-Control"] = "no-store"
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response
