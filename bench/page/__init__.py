"""bench/page: the dashboard's first view complete in Chromium (``run.py``)."""
