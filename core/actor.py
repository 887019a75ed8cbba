"""Who does something: the actor every state-changing verb is handed by its front door, named in the
audit trail and in a task's action log ("killed by alice (web, 127.0.0.1)").

Roles are ordered: a viewer reads, an operator also acts on tasks, an admin also deletes, undoes
and manages users and tokens (docs/web.md). The CLI, `HEARTBEAT_API_TOKEN` and the single
`[web] password_hash` act as admin; the daemon acts as itself.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from enum import IntEnum

VIAS = ("web", "api", "cli", "daemon")


class Role(IntEnum):
    """Ordered: a higher role may do everything a lower one may."""

    viewer = 1
    operator = 2
    admin = 3

    @classmethod
    def named(cls, name: str) -> Role:
        """The role called `name`; ValueError naming the choices otherwise."""
        try:
            return cls[name]
        except KeyError:
            raise ValueError(f"role must be one of {', '.join(r.name for r in cls)}, not {name!r}") from None


@dataclass(frozen=True)
class Actor:
    """`name`: a user, a token's name, the OS user of a CLI run, or "daemon"; `via`: one of VIAS;
    `address`: the client's address for HTTP; `token`: the label of the API token used, if any."""

    name: str
    via: str
    role: Role = Role.admin
    address: str | None = None
    token: str | None = None

    def __str__(self) -> str:
        token = f"token {self.token}" if self.token else None
        where = ", ".join(p for p in (self.via, token, self.address) if p)
        return f"{self.name} ({where})"

    def may(self, role: Role) -> bool:
        return self.role >= role


def cli_actor() -> Actor:
    """The person at the terminal: the OS user, acting as admin (the CLI reads the config and the
    state database, so it can do everything anyway)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = f"uid {os.getuid()}"
    return Actor(user, "cli")


DAEMON = Actor("daemon", "daemon")
