"""PostgreSQL, and the only place SQL is written: every other package calls the named
functions here, on a connection of its process's one pool (``database``).

- ``database``: the pool; ``migrate`` and ``migrations/``: the schema;
- ``upserts``: one batch of mapped leads (contacts, submissions, the ledger, counters,
  outbox rows); ``erase``: what a deleted lead brought;
- ``forms``, ``form_settings``, ``mappings_store``, ``catalog``: forms as discovered and as
  configured, their versions, mappings and contact fields;
- ``sync_runs``: runs from request to end, the schedule; ``connections``: LinkedIn tokens,
  encrypted; ``error_log``: the error log and counters; ``alarms``: the pipeline alarm;
  ``outbox``: contact-change events to relay; ``contacts_query``: contacts by their
  LinkedIn fields; ``audiences``: saved contact filters (dynamic audiences).

Guarantee: every write is idempotent (replaying a batch changes nothing), an older lead
never overwrites a newer one, and each committed contact change has exactly one outbox row
in the same transaction.
"""
