"""The measurement room (see docs/architecture.md): computing indicator values from the stored
records. The indicator definitions themselves are catalog data (:mod:`chiso.catalog.indicators`).
"""
