"""The filing form: which kind of change, for whom, and for a hand-over, the successor."""

from wtforms import RadioField, SelectChoice, SelectField
from wtforms.validators import InputRequired, ValidationError

from portal.accounts.models import Account
from portal.changes.models import ChangeAction, ChangeKind
from portal.changes.services import Candidates, Filing
from portal.fields import PortalForm
from portal.i18n import lazy_gettext as _l

NOBODY = 0


def _person(account: Account) -> SelectChoice:
    return SelectChoice(account.id, f"{account.name}（{account.username}）")


class ChangeForm(PortalForm):
    """管理者帳號異動申請. The choices come from the filer's institution (see `for_filer`)."""

    kind = RadioField(
        _l("異動類別"),
        choices=[
            SelectChoice(ChangeKind.DEACTIVATE.value, _l("B. 停用管理者帳號")),
            SelectChoice(ChangeKind.PROMOTE.value, _l("C.a 升為管理者")),
            SelectChoice(ChangeKind.DEMOTE.value, _l("C.b 降為一般使用者")),
            SelectChoice(
                ChangeKind.HANDOVER.value,
                _l("交接：停用或降級一位管理者，同時升一位一般使用者為管理者"),
            ),
        ],
        validators=[InputRequired(_l("請選擇異動類別。"))],
    )
    target_id = SelectField(_l("異動的帳號"), coerce=int, validate_choice=False)
    handover_action = RadioField(
        _l("交接時，原管理者"),
        choices=[
            SelectChoice(ChangeAction.DEACTIVATE.value, _l("停用帳號")),
            SelectChoice(ChangeAction.DEMOTE.value, _l("降為一般使用者")),
        ],
        default=ChangeAction.DEACTIVATE.value,
    )
    successor_id = SelectField(_l("接任管理者（交接時）"), coerce=int, validate_choice=False)

    def for_filer(self, filer: Account, people: Candidates) -> "ChangeForm":
        """Offer only what this filer may ask for: a general user may only ask to be promoted."""
        everyone = people.managers + people.general_users
        if filer.is_manager:
            self.target_id.choices = [SelectChoice(NOBODY, _l("請選擇"))] + [
                _person(a) for a in everyone
            ]
            self.successor_id.choices = [SelectChoice(NOBODY, _l("請選擇（只在交接時）"))] + [
                _person(a) for a in people.general_users
            ]
        else:
            self.kind.choices = [c for c in self.kind.choices if c.value == ChangeKind.PROMOTE]
            self.kind.data = self.kind.data or ChangeKind.PROMOTE.value
            self.target_id.choices = [_person(filer)]
            self.successor_id.choices = [SelectChoice(NOBODY, _l("不適用"))]
        return self

    def validate_target_id(self, field) -> None:
        """A person must be named."""
        if not field.data or field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(_l("請選擇要異動的帳號。"))

    def validate_successor_id(self, field) -> None:
        """A hand-over names a successor among those offered; nothing else does."""
        offered = {choice.value for choice in field.choices} - {NOBODY}
        if self.kind.data == ChangeKind.HANDOVER and field.data not in offered:
            raise ValidationError(_l("交接時請選擇接任管理者的一般使用者。"))

    def filing(self) -> Filing:
        """What was asked for, as the service takes it."""
        kind = ChangeKind(self.kind.data)
        if kind is ChangeKind.HANDOVER:
            outgoing = ChangeAction(self.handover_action.data or ChangeAction.DEACTIVATE)
            return Filing(
                ((self.target_id.data, outgoing), (self.successor_id.data, ChangeAction.PROMOTE))
            )
        return Filing(((self.target_id.data, ChangeAction(kind.value)),))
