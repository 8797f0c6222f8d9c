"""The demo: a seeded SQLite warehouse, and the scripts behind `make demo` and `make airflow`.

The only place where the provider and the emulator meet outside the tests.
"""
