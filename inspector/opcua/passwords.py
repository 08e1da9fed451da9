"""Password hashes for ``opcua.users[].password_hash`` (PBKDF2-SHA256, stdlib only).

``python -m inspector.opcua.passwords`` asks for a password and prints its hash for the config.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import os
from pathlib import Path

ITERATIONS = 200_000


def hash_password(password: str, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>``."""
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def matches(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` (a hash as above) was made from; constant time."""
    try:
        _, iterations, salt, digest = stored.split("$")
        got = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


def read_password_file(path: Path) -> str:
    """The first line of ``path`` (a systemd credential, a secret mounted by the deployment)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[0] if lines else ""


def main() -> None:
    password = getpass.getpass("OPC UA password: ")
    if password != getpass.getpass("again: "):
        raise SystemExit("the two passwords differ")
    print(hash_password(password))


if __name__ == "__main__":
    main()
