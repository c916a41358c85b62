"""The statistical models' library (statsmodels, with pandas under it), loaded once a process
by whichever thread asks first.

Loading takes seconds, far more than fitting a model, so it is not done on import: a command
that never forecasts never pays. A serving process loads it in the background when it starts
(``chiso.runtime``); every use calls :func:`load` first, so that two threads never import it
at the same time (concurrent imports of a package whose modules import one another can hand
a thread a module not yet filled in).
"""

from __future__ import annotations

import threading

_LOCK = threading.Lock()


def load() -> None:
    """Import the parts of statsmodels chiso uses; returns at once once they are loaded."""
    with _LOCK:
        import statsmodels.api
        import statsmodels.stats.proportion
        import statsmodels.tsa.statespace.structural  # noqa: F401
