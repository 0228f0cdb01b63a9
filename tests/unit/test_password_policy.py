"""Unit tests for portal.identity.password_policy: one verdict for the meter and the check."""

import pytest

from portal.identity.password_policy import PasswordPolicy, assess_password

POLICY = PasswordPolicy()


@pytest.fixture(autouse=True)
def _context(app):
    # The checklist's words are translated, so a request's language must exist.
    with app.test_request_context():
        yield


@pytest.mark.parametrize(
    ("password", "broken_rule"),
    [
        ("Clinic@Chen$2026", "charset"),  # @ and $ are not among *~!=#
        ("Clinic#Chen 2026", "charset"),  # nor is a space
        ("Tz9kqsWmrx2Lp", "special"),
        ("tz9*kq~wm!x2", "upper"),
        ("TZ9*KQ~WM!X2", "lower"),
        ("Tzq*kq~Wm!xp", "digit"),
        ("Tz9*k~W", "length"),
        ("Tz9*chen01~Wm!x2", "username"),
        ("Tz9*A123456789~W", "national_id"),
    ],
)
def test_a_password_some_rule_refuses_is_never_called_strong(password, broken_rule):
    assessment = assess_password(password, POLICY, username="chen01", national_id="A123456789")
    assert broken_rule in {rule.key for rule in assessment.rules if not rule.met}
    assert assessment.verdict == "unacceptable"
    assert assessment.verdict_label == "不符合規則"


def test_zxcvbn_alone_would_have_called_the_refused_password_strong():
    assessment = assess_password("Clinic@Chen$2026", POLICY, username="chen01")
    assert assessment.strength == "strong"  # what the meter used to show
    assert assessment.verdict == "unacceptable"


@pytest.mark.parametrize(
    ("password", "verdict", "label"),
    [
        ("", "none", "（尚未輸入）"),
        ("abc", "unacceptable", "不符合規則"),
        ("Tz9*kq~Wm!x2", "strong", "強"),
    ],
)
def test_verdicts(password, verdict, label):
    assessment = assess_password(password, POLICY, username="chen01")
    assert (assessment.verdict, assessment.verdict_label) == (verdict, label)


def test_an_acceptable_password_shows_its_strength():
    # A policy that lets 弱 through shows 弱 for an acceptable but weak password; the
    # default policy, wanting 中, refuses the same password.
    assert assess_password("Password1!", POLICY).verdict == "unacceptable"
    lenient = PasswordPolicy(min_score=0)
    assessment = assess_password("Password1!", lenient)
    assert assessment.acceptable
    assert assessment.verdict == assessment.strength == "weak"
    assert assessment.verdict_label == "弱"
