"""Row locks that also refresh what the session already holds."""

from sqlalchemy import Select


def for_update(statement: Select, **lock_options) -> Select:
    """`SELECT … FOR UPDATE` whose rows overwrite the session's copies of them.

    A view usually loads the object (scope checks, 404s) before the service locks it. Without
    `populate_existing`, the locked row comes back as that same object with the values read
    *before* the wait, so the loser of a race would still see the old state and decide again.
    SQLite ignores FOR UPDATE; its writers are serialized by the database lock instead.
    """
    return statement.with_for_update(**lock_options).execution_options(populate_existing=True)
