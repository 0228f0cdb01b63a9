"""Rendering a page or its HTMX fragment from one view, and plain request facts for services."""

from flask import Response, make_response, redirect, render_template, request

from portal.audit.services import Origin
from portal.extensions import htmx


def wants_fragment() -> bool:
    """An HTMX request that is not a history restore wants just the fragment."""
    return bool(htmx) and not htmx.history_restore_request


def page_or_fragment(
    page_template: str, fragment_template: str, status: int = 200, **context
) -> Response:
    """The fragment for HTMX, the whole page otherwise; caches told the answer varies."""
    template = fragment_template if wants_fragment() else page_template
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


# The page's error banner (base.html), where a refusal that belongs to no component is shown.
ERROR_BANNER = "#request-error"


def error_answer(page_template: str, status: int, message: str, **context) -> Response:
    """An error page; for HTMX, only its message, put in the page's error banner.

    The requesting element's own target and swap would put a whole page where a fragment
    belongs (a meter, a table row), and its hx-select would find nothing in the message.
    """
    if not wants_fragment():
        page = render_template(page_template, message=message, **context)
        return make_response(page, status)
    fragment = render_template("errors/_request_error.html", message=message, **context)
    response = make_response(fragment, status)
    response.headers["HX-Retarget"] = ERROR_BANNER
    response.headers["HX-Reswap"] = "innerHTML"
    response.headers["HX-Reselect"] = ".request-error-message"
    response.vary.add("HX-Request")
    return response


def see_other(location: str) -> Response:
    """Send the browser to another page: a 303, or for HTMX an HX-Redirect.

    htmx would follow a 303 itself and swap the whole page it leads to into the fragment;
    HX-Redirect makes it load that page as a page.
    """
    if not wants_fragment():
        return redirect(location, 303)
    response = make_response("", 204)
    response.headers["HX-Redirect"] = location
    response.vary.add("HX-Request")
    return response


def page_argument(last: int) -> int:
    """?page= as a number from 1 to `last`: missing or not a number is 1, beyond is `last`.

    A page number becomes an OFFSET or an element id, and the database refuses an offset
    beyond bigint.
    """
    return min(max(request.args.get("page", 1, type=int), 1), last)


def request_origin() -> Origin:
    """Where the current request came from, for the audit trail."""
    return Origin(remote_addr=request.remote_addr, user_agent=request.user_agent.string)


def portal_origin() -> str:
    """The portal's web origin as this request reached it (scheme://host[:port]): what the
    browser sends the card helper as `Origin`, and what a card challenge names."""
    return request.host_url.rstrip("/").lower()


def allows_large_body(setting: str):
    """Let this view accept request bodies up to the named setting (uploads).

    Every other request keeps MAX_CONTENT_LENGTH. The limit must be set before anything
    reads the form (CSRF protection does), so `init_body_limits` applies it first thing.
    """

    def decorator(view):
        view.max_body_setting = setting
        return view

    return decorator


def init_body_limits(app) -> None:
    """Register the hook that raises the body limit for views marked allows_large_body."""

    @app.before_request
    def raise_body_limit_for_uploads() -> None:
        view = app.view_functions.get(request.endpoint or "")
        setting = getattr(view, "max_body_setting", None)
        if setting:
            # Room for the multipart envelope around a file of exactly the limit.
            request.max_content_length = app.config[setting] + 64 * 1024
