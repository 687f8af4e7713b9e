"""Benchmarks of the product against a bare Litestar stack doing the same work.

``python -m bench`` (or ``make bench``) measures both in one run and writes
``bench/results/latest.json``; ``python -m bench --quick`` is the smoke run.
"""
