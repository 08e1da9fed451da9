"""Config section for the OPC UA server (OPC 40100 Machine Vision): endpoint, who may connect,
and who may switch recipes."""

from __future__ import annotations

import importlib.util
import ipaddress
import os
from enum import Enum
from pathlib import Path
from urllib.parse import urlparse

from pydantic import Field, model_validator

from inspector.section import Section

Problem = tuple[str, str]
LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost"})
# pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>, as ``python -m inspector.opcua.passwords`` writes
PASSWORD_HASH_PATTERN = r"^pbkdf2_sha256\$[0-9]{4,9}\$[0-9a-f]{16,128}\$[0-9a-f]{64}$"


class AnonymousAccess(str, Enum):
    """Whether a client may connect without a user name."""

    LOOPBACK = "loopback"  # only on a loopback endpoint; an error elsewhere until said otherwise
    ON = "on"  # anywhere: said explicitly
    OFF = "off"


class Role(str, Enum):
    """What a client may do: observers browse, read and subscribe; operators also select recipes."""

    OBSERVER = "observer"
    OPERATOR = "operator"


class SecurityPolicy(str, Enum):
    NONE = "none"
    BASIC256SHA256 = "basic256sha256"


class SecurityMode(str, Enum):
    SIGN = "sign"
    SIGN_AND_ENCRYPT = "sign_and_encrypt"


class OpcUaUser(Section):
    """One user name and its password, given in exactly one of three ways."""

    name: str = Field(
        ..., min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$", description="User name."
    )
    password_hash: str | None = Field(
        None,
        pattern=PASSWORD_HASH_PATTERN,
        description="PBKDF2-SHA256 hash of the password (python -m inspector.opcua.passwords prints one).",
    )
    password_env: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Name of an environment variable holding the password (read at start).",
    )
    password_file: Path | None = Field(
        None, description="File holding the password on its first line (e.g. a systemd credential)."
    )
    role: Role = Field(
        Role.OBSERVER, description="observer: read and subscribe; operator: also select recipes."
    )

    @model_validator(mode="after")
    def _one_password(self) -> OpcUaUser:
        given = [self.password_hash, self.password_env, self.password_file]
        if sum(value is not None for value in given) != 1:
            raise ValueError("give exactly one of password_hash, password_env, password_file")
        return self


class OpcUaSecurity(Section):
    """The secure channel: none, or Basic256Sha256 with the server's certificate and key."""

    policy: SecurityPolicy = Field(
        SecurityPolicy.NONE, description="none, or basic256sha256 (signed or encrypted messages)."
    )
    mode: SecurityMode = Field(
        SecurityMode.SIGN_AND_ENCRYPT, description="With basic256sha256: sign, or sign_and_encrypt."
    )
    certificate: Path | None = Field(None, description="Server certificate (DER or PEM) for basic256sha256.")
    private_key: Path | None = Field(None, description="Server private key (PEM) for basic256sha256.")


class OpcUaConfig(Section):
    """The OPC UA server: the vision system's state, recipes and results for SCADA/MES."""

    enabled: bool = Field(False, description="Run the OPC UA server (needs pip install 'inspector[opcua]').")
    endpoint: str = Field(
        "opc.tcp://127.0.0.1:4840/inspector",
        max_length=256,
        pattern=r"^opc\.tcp://[^/:\s]+(:[0-9]{1,5})?(/\S*)?$",
        description="Where the server listens: opc.tcp://host:port/path (host 0.0.0.0 for every interface).",
    )
    anonymous: AnonymousAccess = Field(
        AnonymousAccess.LOOPBACK,
        description="Clients without a user name: loopback (only on a 127.0.0.1 endpoint), on, off.",
    )
    anonymous_role: Role = Field(Role.OBSERVER, description="What an anonymous client may do.")
    users: list[OpcUaUser] = Field(default_factory=list, max_length=100, description="Users with passwords.")
    security: OpcUaSecurity = Field(default_factory=OpcUaSecurity, description="Secure channel policy.")
    queue_size: int = Field(
        256, ge=1, le=100_000, description="Results waiting for the server; when full, new ones are dropped."
    )
    state_interval_s: float = Field(
        0.2, gt=0, le=10, description="How often the vision state machine follows the line's state."
    )
    start_timeout_s: float = Field(
        30.0, gt=0, le=300, description="How long start may take (the NodeSet import takes about 1-3 s)."
    )

    @property
    def host(self) -> str:
        return urlparse(self.endpoint).hostname or ""

    @property
    def port(self) -> int:
        """The endpoint's port (4840, OPC UA's own, when it names none)."""
        try:
            port = urlparse(self.endpoint).port
        except ValueError:  # past 65535
            return -1
        return 4840 if port is None else port

    @property
    def loopback(self) -> bool:
        """The endpoint listens on loopback only."""
        if self.host in LOOPBACK_NAMES:
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def anonymous_allowed(self) -> bool:
        return self.anonymous is AnonymousAccess.ON or (
            self.anonymous is AnonymousAccess.LOOPBACK and self.loopback
        )

    def problems(self) -> list[Problem]:
        """What the schema cannot say: anonymous off loopback, files that are not there."""
        if not self.enabled:
            return []
        problems: list[Problem] = []
        if self.anonymous is AnonymousAccess.LOOPBACK and not self.loopback:
            why = (
                f"anonymous clients are allowed only on a loopback endpoint, and {self.host} is not one: "
                "set opcua.anonymous: off (and give opcua.users), or on to allow it explicitly"
            )
            problems.append(("opcua.anonymous", why))
        if not self.anonymous_allowed and not self.users and self.anonymous is AnonymousAccess.OFF:
            problems.append(
                ("opcua.users", "anonymous access is off and no user is given: no client could connect")
            )
        if not 0 < self.port < 65536:
            problems.append(("opcua.endpoint", "the port should be in 1..65535"))
        if importlib.util.find_spec("asyncua") is None:
            problems.append(
                ("opcua.enabled", "the OPC UA server needs asyncua: pip install 'inspector[opcua]'")
            )
        problems += self._security_problems()
        for index, user in enumerate(self.users):
            if user.password_file is not None and not user.password_file.is_file():
                problems.append((f"opcua.users.{index}.password_file", f"{user.password_file} is not a file"))
        names = [user.name for user in self.users]
        problems += [
            (f"opcua.users.{index}.name", f"duplicate user {name!r}")
            for index, name in enumerate(names)
            if name in names[:index]
        ]
        return problems

    def _security_problems(self) -> list[Problem]:
        sec = self.security
        if sec.policy is SecurityPolicy.NONE:
            return []
        problems = []
        for key in ("certificate", "private_key"):
            path = getattr(sec, key)
            if path is None:
                problems.append(
                    (f"opcua.security.{key}", f"{sec.policy.value} needs a {key.replace('_', ' ')}")
                )
            elif not path.is_file():
                problems.append((f"opcua.security.{key}", f"{path} is not a file"))
        return problems


def password_of_env(name: str) -> str | None:
    """The password in environment variable ``name`` (None when unset or empty)."""
    return os.environ.get(name) or None
