"""WTForms' attribute rendering, the same output for a tenth of the work.

Every input, select and text area WTForms draws goes through `html_params`, which builds
each attribute with `Markup.format`: Python's string formatter with an escaping hook for
every value. A page with a dozen fields spent more time there than in the rest of its
template. The replacement escapes each name and value once with markupsafe and joins plain
strings; tests/unit/test_widgets.py holds it to WTForms' own output.
"""

import wtforms.widgets
from markupsafe import Markup, escape
from wtforms.widgets import core

# WTForms' own, kept before any replacement: the tests compare the two.
WTFORMS_HTML_PARAMS = core.html_params


def html_params(**kwargs) -> Markup:
    """WTForms' `html_params`: sorted attributes, True as a bare name, False left out."""
    params = []
    for key, value in sorted(kwargs.items()):
        key = core.clean_key(key)
        if value is True:
            params.append(escape(key))
        elif value is not False:
            # markupsafe escapes '"' as "&#34;", so the value cannot leave its quotes.
            params.append(f'{escape(key)}="{escape(value)}"')
    return Markup(" ".join(params))


def use_fast_html_params() -> None:
    """Make WTForms' widgets draw their attributes with `html_params` above (idempotent)."""
    # Module functions and the text area, select and option widgets read the module's name;
    # Input and Button keep a copy of their own; labels read the package's.
    core.html_params = html_params
    core.Input.html_params = staticmethod(html_params)
    core.Button.html_params = staticmethod(html_params)
    wtforms.widgets.html_params = html_params
