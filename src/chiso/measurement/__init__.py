"""The measurement room (see docs/architecture.md and docs/measurement.md): computing indicator
values from the stored records. The indicator definitions themselves are catalog data
(:mod:`chiso.catalog.indicators`).

Importing the room turns on the incremental path (every accepted batch updates the day state
in its own transaction) and the change stream's commit hooks.
"""

from chiso.measurement import incremental, stream

incremental.enable()
stream.install()
