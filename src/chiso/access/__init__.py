"""Access and audit (SPEC C10): who may do what, and a tamper-evident trace of what they did.

One mechanism: :class:`chiso.access.guard.AccessGuard`, installed once in ``create_app``,
authenticates every request (session cookie, API token or source token) and authorises it
against the one policy table in :mod:`chiso.access.policy`; a route with no entry is refused.
"""
