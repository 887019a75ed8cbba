"""Export profile: queue the shop's products, write each as the sync platform's JSON."""

from __future__ import annotations

from collections.abc import Iterator

from connectors.platform.export_format import dumps_product
from connectors.prestashop import PrestaShop
from profiles.base import Processed, Worker, exports_dir, non_empty
from tasks.models import Item, Outcome, QueueEntry, Task
from tasks.states import ItemStatus

NOT_FOUND = "not found in shop (deleted after the task started)"


class ExportWorker(Worker):
    has_export_file = True

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

    def process(self, task: Task, items: list[Item]) -> Processed:
        products = self.shop.read_products([i.product_id for i in items])
        result = Processed(outcomes=[])
        for item in items:
            product = products.get(item.product_id)
            if product is None:
                result.outcomes.append(Outcome(item.position, ItemStatus.SKIPPED, "none", NOT_FOUND))
                continue
            try:
                record = dumps_product(product)
            except (TypeError, ValueError) as exc:  # a value JSON cannot carry: this item only
                result.outcomes.append(Outcome(item.position, ItemStatus.ERROR, "none", str(exc)))
                continue
            result.outcomes.append(Outcome(item.position, ItemStatus.PROCESSED, "exported"))
            result.records.append(record)
        return result

    def export_path(self, task: Task) -> str:
        return str(exports_dir(self.profile, self.config) / f"{self.profile.name}-task-{task.id}.json")

    def close(self) -> None:
        if self._shop is not None:
            self._shop.close()
            self._shop = None
