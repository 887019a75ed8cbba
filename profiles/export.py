"""Export profile: queue the shop's products, write each as the sync platform's JSON."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from connectors.platform.export_format import dumps_product
from connectors.prestashop import PrestaShop
from heartbeat.errors import ConnectorError
from profiles.base import Processed, Worker, crash_hook, exports_dir, non_empty
from tasks.models import Item, Outcome, QueueEntry, Task
from tasks.states import ItemStatus

NOT_FOUND = "not found in shop (deleted after the task started)"


class ExportWorker(Worker):
    has_export_file = True
    tracks_changes = True

    def __init__(self, profile, config):
        super().__init__(profile, config)
        self._shop: PrestaShop | None = None

    @property
    def shop(self) -> PrestaShop:
        if self._shop is None:
            self._shop = PrestaShop.from_connection(self.config.connections[self.profile.source])
        return self._shop

    def build_queue(self) -> Iterator[QueueEntry]:
        self.shop.check()
        entries = (QueueEntry(*row) for row in self.shop.iter_queue())
        return non_empty(entries, self.profile.options.get("allow_empty", False))

    def process(self, task: Task, items: list[Item], previous) -> Processed:
        try:
            products = self.shop.read_products([i.product_id for i in items])
        except ConnectorError:
            raise  # the shop is unreachable: the whole batch waits
        except Exception:  # some row cannot be read: find it by reading one product at a time
            products = None
        full = self.profile.options.get("full") or task.options.get("full")
        result = Processed(outcomes=[])
        for item in items:
            crash_hook(item.product_id)
            try:
                outcome, record = self._export(item, products)
            except ConnectorError:
                raise
            except Exception as exc:  # this product only; the batch goes on
                outcome, record = Outcome(item.position, ItemStatus.ERROR, "none", _reason(exc)), None
            if record is not None:
                digest = hashlib.sha256(record.encode()).hexdigest()
                last = previous.get(item.product_id)
                if last and last[0] == digest and not full:
                    outcome, record = Outcome(item.position, ItemStatus.SKIPPED, "none",
                                              f"unchanged since task #{last[1]}"), None
                else:
                    result.sync[item.product_id] = digest
                    result.records.append(record)
            result.outcomes.append(outcome)
        return result

    def _export(self, item: Item, products: dict | None) -> tuple[Outcome, str | None]:
        if products is None:
            products = self.shop.read_products([item.product_id])
        product = products.get(item.product_id)
        if product is None:
            return Outcome(item.position, ItemStatus.SKIPPED, "none", NOT_FOUND), None
        return Outcome(item.position, ItemStatus.PROCESSED, "exported"), dumps_product(product)

    def export_path(self, task: Task) -> str:
        return str(exports_dir(self.profile, self.config) / f"{self.profile.name}-task-{task.id}.json")

    def close(self) -> None:
        if self._shop is not None:
            self._shop.close()
            self._shop = None


def _reason(exc: Exception) -> str:
    """One line for the report: the exception's type and the first line of its message."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
