"""PostgreSQL: migrations and repositories."""
