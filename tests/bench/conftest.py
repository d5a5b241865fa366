"""Benchmarks print figures; they are not pass/fail timing tests (run with ``make bench``)."""
