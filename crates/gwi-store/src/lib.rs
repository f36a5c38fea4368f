//! Storage engines for gwi: SQLite (default) and PostgreSQL.
