"""What `profiles check` asks of each reachable shop: the id_shop and id_lang its connection names.

Loading a config opens no connection. `profiles check` goes one step further for prestashop
connections: a shop that answers and lacks the configured `id_shop` (or the language `id_lang`) is a
configuration error (exit 2), since it would make every product look deleted to an export; a shop
that does not answer is only a note (exit 0): it may simply be down right now, or not reachable from
the machine the check runs on.
"""

from __future__ import annotations

from connectors.prestashop import PrestaShop
from core.config import Config
from core.errors import ConfigError, ConnectorError


def check_shops(config: Config) -> list[str]:
    """Notes on the shops that could not be checked; raises ConfigError naming the key of the first
    id_shop / id_lang a reachable shop does not have."""
    notes = []
    for conn in config.connections.values():
        if conn.type != "prestashop":
            continue
        shop = PrestaShop.from_connection(conn)
        try:
            why = shop.wrong_ids()
        except ConnectorError as exc:
            notes.append(f"not checked: {exc}")
            continue
        finally:
            shop.close()
        if why:
            key = "id_shop" if why.startswith("id_shop") else "id_lang"
            raise ConfigError(config.path, f"connections.{conn.name}.{key}", why)
    return notes
