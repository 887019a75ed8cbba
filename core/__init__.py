"""The foundation: what every other package may import, and which imports nothing of ours.

errors (the one exception hierarchy), clock (the only source of time), fields (the vocabulary of
product fields feeds and imports share), config (the configuration's data classes; loading them is
heartbeat.config.loader's job) and driver (statements sent straight to the database driver on hot paths).
"""
