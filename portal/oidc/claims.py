"""What a relying party learns about a person, scope by scope.

`sub` is the account's random subject, the same for every subsystem and for ever; never the
ID number, which goes only to a client registered for it, under the scope `national_id`.
"""

from authlib.oidc.core import UserInfo

from portal.accounts.models import Account
from portal.security.national_ids import decrypt_national_id

BASE_SCOPES = ("openid", "profile", "email", "institution")
NATIONAL_ID_SCOPE = "national_id"
SUPPORTED_SCOPES = (*BASE_SCOPES, NATIONAL_ID_SCOPE)


class PortalUserInfo(UserInfo):
    """Authlib's UserInfo with the portal's own scopes and claims."""

    SCOPES_CLAIMS_MAPPING = {
        **UserInfo.SCOPES_CLAIMS_MAPPING,
        "profile": [*UserInfo.SCOPES_CLAIMS_MAPPING["profile"], "role"],
        "institution": ["institution_code", "institution_name"],
        NATIONAL_ID_SCOPE: [NATIONAL_ID_SCOPE],
    }


SUPPORTED_CLAIMS = sorted(
    {
        "sub",
        "name",
        "preferred_username",
        "role",
        "email",
        "email_verified",
        "institution_code",
        "institution_name",
        NATIONAL_ID_SCOPE,
    }
)


def role_claim(account: Account) -> str:
    """The role a subsystem sees: manager, general, or the staff role."""
    if account.staff_role is not None:
        return account.staff_role.value
    return account.role.value if account.role else ""


def user_info(account: Account, scope: str, may_receive_national_id: bool) -> PortalUserInfo:
    """The person's claims that the scope allows (the ID number only if the client may)."""
    claims = PortalUserInfo(
        sub=account.subject,
        name=account.name,
        preferred_username=account.username,
        role=role_claim(account),
        email=account.email,
        # The address is the one the person keeps on 我的帳號; the portal does not prove it.
        email_verified=False,
    )
    if account.institution is not None:
        claims["institution_code"] = account.institution.code
        claims["institution_name"] = account.institution.name
    granted = scope.split()
    if may_receive_national_id and NATIONAL_ID_SCOPE in granted:
        claims[NATIONAL_ID_SCOPE] = decrypt_national_id(account.national_id_encrypted)
    return claims.filter(scope)


# Authentication context classes: a password alone, or a password and a second factor.
ACR_PASSWORD = "urn:hpa.gov.tw:portal:acr:password"
ACR_SECOND_FACTOR = "urn:hpa.gov.tw:portal:acr:mfa"
ACR_VALUES = (ACR_PASSWORD, ACR_SECOND_FACTOR)


def acr_for(methods: list[str]) -> str:
    """The acr the sign-in methods reach."""
    return ACR_SECOND_FACTOR if "otp" in methods else ACR_PASSWORD
