"""The warehouse side of the cycle: export the IDs to check, apply X's verdicts.

Everything goes through common-sql hooks (``DbApiHook``) with the hook's own parameter
placeholder and portable SQL, so SQLite, Postgres or Snowflake connections work unchanged.
"""
