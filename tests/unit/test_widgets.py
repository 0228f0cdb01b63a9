"""portal.widgets.html_params draws the same attributes as WTForms' own."""

import pytest
from markupsafe import Markup

from portal.widgets import WTFORMS_HTML_PARAMS, html_params

CASES = [
    {},
    {"name": "username", "id": "username", "maxlength": 30},
    {"class_": "wide", "for_": "x", "data_hx_target": "#a", "aria_describedby": "a-error b-hint"},
    {"checked": True, "readonly": False, "value": 'say "hi" <b>&</b>'},
    {"value": Markup("<i>kept</i>"), "placeholder": "例：A123456789", "title": "'quoted'"},
    {"value": 0, "min": -1, "step": 0.5, "autocomplete": "one-time-code"},
    {"hx_post": "/x?a=1&b=2", "hx_vals": '{"k": "v"}'},
]


@pytest.mark.parametrize("kwargs", CASES)
def test_same_output_as_wtforms(kwargs):
    """Attribute for attribute, the same markup (escaping included)."""
    expected = str(WTFORMS_HTML_PARAMS(**kwargs)).replace("&#34;", "&quot;")
    assert str(html_params(**kwargs)).replace("&#34;", "&quot;") == expected
    assert isinstance(html_params(**kwargs), Markup)


def test_quotes_cannot_leave_the_attribute():
    """A value with quotes and angle brackets stays inside its attribute."""
    assert str(html_params(value='"><script>')) == 'value="&#34;&gt;&lt;script&gt;"'
