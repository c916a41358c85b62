"""The operations dashboard (SPEC C7): tiles computed from the catalog's tile files, the
commune map, the decision log. Reads measurement, scoring and outlook; the web room shows it."""
