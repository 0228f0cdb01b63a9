"""The institution search used by the registration form's picker."""

from flask import Blueprint, current_app, request

from portal.extensions import limiter
from portal.institutions.services import MAX_QUERY_LENGTH, search_institutions
from portal.rendering import page_or_fragment

bp = Blueprint("institutions", __name__, template_folder="templates")


@bp.get("/institutions/search")
@limiter.limit(lambda: current_app.config["RATELIMIT_INSTITUTION_SEARCH"])
def search():
    """Institutions matching ?q= (code prefix or part of the name)."""
    query = request.args.get("q", request.args.get("institution_code", ""))[:MAX_QUERY_LENGTH]
    results = search_institutions(query)
    exact = next((i for i in results if i.code == query.strip()), None)
    return page_or_fragment(
        "institutions/search.html",
        "institutions/_results.html",
        query=query,
        results=results,
        exact=exact,
    )
