"""The store: the database schema, its migrations, and how the catalog is written into it."""
