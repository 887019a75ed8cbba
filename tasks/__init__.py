"""Tasks and their queued items: statuses, the state machine, the state tables and the task store."""
