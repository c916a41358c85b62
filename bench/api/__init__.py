"""bench/api: the dashboard and ranking endpoints under 100 concurrent clients (``run.py``)."""
