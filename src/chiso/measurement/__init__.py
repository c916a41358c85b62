"""The measurement room (see docs/architecture.md): indicators as data, their values.

Importing it registers the indicator definitions as a section of the catalog
(:mod:`chiso.measurement.definitions`), so ``load_catalog`` loads and checks them.
"""

from chiso.measurement import definitions as definitions
