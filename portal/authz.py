"""Who may open a page: roles here, scopes in each domain's services.

A page of another role answers 403; an object outside one's scope answers 404, so that ids
of other institutions or subsystems reveal nothing.
"""

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from portal.accounts.models import StaffRole


def staff_required(*roles: StaffRole) -> Callable:
    """Only signed-in staff with one of these roles."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if current_user.staff_role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def manager_required(view: Callable) -> Callable:
    """Only signed-in, active unit managers."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_manager:
            abort(403)
        return view(*args, **kwargs)

    return wrapper
