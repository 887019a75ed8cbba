"""The benchmark instrument: the product side by side with a raw-SQL limit and a python-rq peer
(and, for the maintenance analysis, which nothing else does, the product alone).

Run it with `make bench` or `python -m bench --help`; how to read what it prints is in
docs/performance.md. Every figure that is compared is measured in the same run, on fresh copies of
the same shop, because the machines it runs on are shared and noisy.
"""
