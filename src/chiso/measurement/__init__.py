"""The measurement room (see docs/architecture.md and docs/measurement.md): computing indicator
values from the stored records. The indicator definitions themselves are catalog data
(:mod:`chiso.catalog.indicators`).

Importing the room changes nothing: the runtime (:func:`chiso.runtime.open_runtime`) registers
the incremental path on intake (every accepted batch updates the day state in its own
transaction) and ties the change stream to its engine.
"""
