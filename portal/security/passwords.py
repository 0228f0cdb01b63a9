"""Password hashing with argon2id; only hashes are ever stored.

The cost parameters come from the configuration (argon2-cffi's defaults, RFC 9106's
"low memory" profile, in production); tests use cheaper ones to stay fast. A hash made with
weaker parameters is upgraded at the next successful sign-in (see `needs_rehash`).
"""

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context


@cache
def _hasher_for(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def _hasher() -> PasswordHasher:
    if not has_app_context():
        return _hasher_for(3, 65536, 4)
    config = current_app.config
    return _hasher_for(
        config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST_KIB"], config["ARGON2_PARALLELISM"]
    )


def hash_password(password: str) -> str:
    """An argon2id hash of the password, with its parameters and salt encoded in it."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches the stored hash."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's."""
    return _hasher().check_needs_rehash(password_hash)


def dummy_hash() -> str:
    """A hash to verify against when the account does not exist, so both answers take as long."""
    return _dummy_hash_for(_hasher())


@cache
def _dummy_hash_for(hasher: PasswordHasher) -> str:
    return hasher.hash("not-a-real-password")
