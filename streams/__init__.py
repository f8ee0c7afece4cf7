"""The stream worker (``leadsync worker``): one faust application (``app``) whose agents
turn records into database rows.

- ``hydrate``: ``leadsync.notifications`` -> the full lead from LinkedIn -> ``leads.raw``;
- ``agents``: ``import_leads`` (``leads.raw`` -> one transaction per batch, through
  ``lead_batches``: decode, dedupe on the ledger, map, upsert) and ``record_errors``
  (``leadsync.errors`` -> error log and counters), with the pipeline alarm's
  ``failure_window``;
- ``relay``: the outbox -> ``leadsync.contact-changes`` (CloudEvents);
- ``tail``: a reader of those events for the command line.

Guarantee: at-least-once from Kafka plus idempotent writes: offsets move only after the
batch's transaction committed, outages are waited out inside the agents' loops, and a lead
that can never be imported becomes an error event, never a silent skip.
"""
