"""Bounds shared by the request models of the web layer."""

#: the largest integer a database column takes (SQLite and PostgreSQL BIGINT); a larger id or version in a
#: request is a 422, not an OverflowError from the driver (found by the schema fuzz test)
DB_INT_MAX = 2**63 - 1
