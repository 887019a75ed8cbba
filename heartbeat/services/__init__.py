"""Floor 2 of heartbeat/: the verbs every front door calls (the CLI, the web page and its API):
tasks.py (TaskManager: queue, list, show, kill, delete, files...) and categories.py (the category
mapping). Neither front door composes storage calls itself."""
