"""Data intake (SPEC C3): contracts, one validation path, three doors, provenance.

Doors: the push API (``chiso.web.api.intake``), pull connectors (``chiso.intake.pull``) and
file upload (``chiso.intake.files``, CLI ``chiso ingest`` and the steward page). All of them
end in ``chiso.intake.pipeline.ingest``.
"""
