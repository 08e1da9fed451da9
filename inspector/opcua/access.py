"""Who may connect and what each client may do, for asyncua's server.

asyncua checks user names and passwords through a user manager and each request through a
permission ruleset, but hands a method call's handler no session. The ruleset here therefore
notes the caller of every request in a context variable that the method handlers (run in the
same task, just after) read: that is how PrepareRecipe knows whether its caller is an operator.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any

from inspector.errors import ConfigError
from inspector.opcua.config import OpcUaConfig, OpcUaUser, Role, password_of_env
from inspector.opcua.passwords import matches, read_password_file


@dataclass(frozen=True, slots=True)
class Caller:
    """The client behind a request: its user name ('anonymous' without one) and role."""

    name: str
    role: Role

    @property
    def may_select_recipes(self) -> bool:
        return self.role is Role.OPERATOR


NOBODY = Caller("unknown", Role.OBSERVER)
CALLER: contextvars.ContextVar[Caller] = contextvars.ContextVar("opcua_caller", default=NOBODY)


class Passwords:
    """Each configured user's password check, resolved once at start (env and files read then)."""

    def __init__(self, users: list[OpcUaUser]) -> None:
        self._users = {user.name: user for user in users}
        self._plain: dict[str, str] = {}
        problems = []
        for index, user in enumerate(users):
            if user.password_env is not None:
                value = password_of_env(user.password_env)
                if value is None:
                    problems.append((f"opcua.users.{index}.password_env", f"${user.password_env} is not set"))
                else:
                    self._plain[user.name] = value
            elif user.password_file is not None:
                try:
                    self._plain[user.name] = read_password_file(user.password_file)
                except OSError as exc:
                    problems.append((f"opcua.users.{index}.password_file", str(exc)))
        if problems:
            raise ConfigError("OPC UA users cannot be set up:", tuple(problems))

    def role_of(self, name: str | None, password: str | None) -> Role | None:
        """The user's role when the password is right, else None."""
        user = self._users.get(name or "")
        if user is None or password is None:
            return None
        if user.password_hash is not None:
            ok = matches(password, user.password_hash)
        else:
            ok = _same(password, self._plain.get(user.name, ""))
        return user.role if ok else None


def _same(given: str, expected: str) -> bool:
    import hmac

    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def user_manager(config: OpcUaConfig, passwords: Passwords) -> Any:
    """asyncua's user manager: configured users by password, anonymous clients as configured
    (their token type is refused by the server already when anonymous access is off)."""
    from asyncua.crypto.permission_rules import User, UserRole

    class Users:
        def get_user(
            self,
            iserver: Any,
            username: str | None = None,
            password: str | None = None,
            certificate: Any = None,
        ) -> Any:
            # no user name: an anonymous token (certificate tokens are not offered; a certificate
            # here is the secure channel's, not an identity)
            if username is None:
                return User(role=UserRole.Anonymous) if config.anonymous_allowed else None
            role = passwords.role_of(username, password)
            return None if role is None else User(role=UserRole.User, name=username)

    return Users()


def ruleset(config: OpcUaConfig) -> Any:
    """asyncua's permission ruleset: no client edits the address space; every request notes its
    caller (``CALLER``) for the method handlers."""
    from asyncua.crypto.permission_rules import ADMIN_TYPES, PermissionRuleset, UserRole
    from asyncua.ua import Int32, NodeId

    admin_only = {NodeId(Int32(type_id)) for type_id in ADMIN_TYPES}
    roles = {user.name: user.role for user in config.users}

    class NotingRuleset(PermissionRuleset):  # type: ignore[misc]
        def check_validity(self, user: Any, action_type: Any, body: Any) -> bool:
            if user is None:
                CALLER.set(NOBODY)
                return True
            if user.role is UserRole.Anonymous:
                CALLER.set(Caller("anonymous", config.anonymous_role))
            else:
                CALLER.set(Caller(user.name or "?", roles.get(user.name or "", Role.OBSERVER)))
            return action_type not in admin_only

    return NotingRuleset()
