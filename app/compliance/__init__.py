"""Compliance: what each supplier owes a buyer, when, and whether it is delivered.

`rules` holds the pure decisions (no I/O); `service` applies them to the database.
"""
