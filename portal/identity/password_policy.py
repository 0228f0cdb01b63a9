"""The password policy: one rule set behind both the live meter and the final validation."""

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from flask_babel import get_locale
from zxcvbn_rs_py import zxcvbn

from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l

# zxcvbn's 0-4 score shown as the three words of the agency's meter.
STRENGTH_LABELS = {"weak": _l("弱"), "medium": _l("中"), "strong": _l("強")}
# What the meter says: nothing typed yet, a password some rule refuses, or the strength of
# one every rule accepts. A password the rules refuse never gets a strength word, however
# zxcvbn scores it, so the meter never calls an unusable password 強.
VERDICT_LABELS = {
    "none": _l("（尚未輸入）"),
    "unacceptable": _l("不符合規則"),
    **STRENGTH_LABELS,
}
# zxcvbn gets slow on long input; the meter and the check never look further than this.
ZXCVBN_MAX_INPUT = 64


@dataclass(frozen=True)
class PasswordPolicy:
    """The configurable rules (DESIGN.md, "Password policy")."""

    min_length: int = 8
    max_length: int = 64
    special_characters: str = "*~!=#"
    min_score: int = 2
    require_upper: bool = True
    require_lower: bool = True
    require_digit: bool = True
    require_special: bool = True

    @classmethod
    def from_config(cls, config: Mapping) -> "PasswordPolicy":
        """The policy as the application is configured."""
        return cls(
            min_length=config["PASSWORD_MIN_LENGTH"],
            max_length=config["PASSWORD_MAX_LENGTH"],
            special_characters=config["PASSWORD_SPECIAL_CHARACTERS"],
            min_score=config["PASSWORD_MIN_SCORE"],
            require_upper=config["PASSWORD_REQUIRE_UPPER"],
            require_lower=config["PASSWORD_REQUIRE_LOWER"],
            require_digit=config["PASSWORD_REQUIRE_DIGIT"],
            require_special=config["PASSWORD_REQUIRE_SPECIAL"],
        )


@dataclass(frozen=True)
class RuleCheck:
    """One line of the checklist: the rule in words and whether the password meets it."""

    key: str
    label: str
    met: bool


@dataclass(frozen=True)
class PasswordAssessment:
    """What the meter shows and what the final validation decides."""

    score: int
    strength: str  # "weak" | "medium" | "strong"
    rules: list[RuleCheck] = field(default_factory=list)
    password_given: bool = True

    @property
    def verdict(self) -> str:
        """What the meter says: none, unacceptable, or an acceptable password's strength."""
        if not self.password_given:
            return "none"
        return self.strength if self.acceptable else "unacceptable"

    @property
    def verdict_label(self) -> str:
        """The meter's word: （尚未輸入）, 不符合規則, 弱, 中 or 強."""
        return str(VERDICT_LABELS[self.verdict])

    @property
    def acceptable(self) -> bool:
        """Whether every rule is met."""
        return all(rule.met for rule in self.rules)

    @property
    def first_failure(self) -> RuleCheck | None:
        """The first rule not met, for the message next to the field."""
        return next((rule for rule in self.rules if not rule.met), None)


def strength_of(score: int) -> str:
    """The meter's word for a zxcvbn score."""
    if score <= 1:
        return "weak"
    return "medium" if score == 2 else "strong"


def assess_password(
    password: str,
    policy: PasswordPolicy,
    *,
    username: str = "",
    national_id: str = "",
    personal_words: tuple[str, ...] = (),
) -> PasswordAssessment:
    """Score the password with zxcvbn and check it against every rule of the policy."""
    score = _zxcvbn_score(password, (username, national_id, *personal_words))
    return PasswordAssessment(
        score=score,
        strength=strength_of(score),
        rules=_rule_checks(password, policy, score, username=username, national_id=national_id),
        password_given=bool(password),
    )


def _zxcvbn_score(password: str, user_inputs: tuple[str, ...]) -> int:
    if not password:
        return 0
    words = [word for word in user_inputs if word]
    return int(zxcvbn(password[:ZXCVBN_MAX_INPUT], words).score)


def _rule_checks(
    password: str, policy: PasswordPolicy, score: int, *, username: str, national_id: str
) -> list[RuleCheck]:
    specials = policy.special_characters
    allowed = set(string.ascii_letters + string.digits + specials)
    folded = password.casefold()
    met = {
        "length": policy.min_length <= len(password) <= policy.max_length,
        "upper": not policy.require_upper or _has(password, str.isupper),
        "lower": not policy.require_lower or _has(password, str.islower),
        "digit": not policy.require_digit or _has(password, str.isdigit),
        "special": not policy.require_special or any(ch in specials for ch in password),
        "charset": bool(password) and all(ch in allowed for ch in password),
        "username": bool(password) and not (username and username.casefold() in folded),
        "national_id": bool(password)
        and not (national_id and national_id.strip().casefold() in folded),
        "strength": score >= policy.min_score,
    }
    return [RuleCheck(key, label, met[key]) for key, label in _rule_labels(policy).items()]


def _rule_labels(policy: PasswordPolicy) -> dict[str, str]:
    """Each rule of the checklist in the visitor's language, in the order shown."""
    return _rule_labels_in(str(get_locale()), policy)


# The meter runs on every pause in typing; translating nine labels each time cost it more
# than zxcvbn does. The labels depend only on the language and the policy.
@lru_cache(maxsize=16)
def _rule_labels_in(_locale: str, policy: PasswordPolicy) -> dict[str, str]:
    specials = " ".join(policy.special_characters)
    level = str(STRENGTH_LABELS[strength_of(policy.min_score)])
    return {
        "length": _("長度 %(min)d 至 %(max)d 個字元", min=policy.min_length, max=policy.max_length),
        "upper": _("含大寫英文字母"),
        "lower": _("含小寫英文字母"),
        "digit": _("含數字"),
        "special": _("含特殊字元（%(chars)s）", chars=specials),
        "charset": _("只用英文字母、數字與 %(chars)s", chars=specials),
        "username": _("不得與帳號相同或包含帳號"),
        "national_id": _("不得包含身分證字號"),
        "strength": _("強度至少為「%(level)s」", level=level),
    }


def _has(password: str, predicate) -> bool:
    # Only ASCII letters count: full-width or accented letters are not allowed at all.
    return any(ch.isascii() and predicate(ch) for ch in password)
