"""The two ways leads come in, both Kafka producers:

- ``webhook/``: LinkedIn's push (challenge, signature, a notification in Kafka before 2xx);
- ``puller`` with ``pull_window``: a sync run's pull of LinkedIn, page by page, onto
  ``leadsync.leads.raw``; ``scheduler``: the periodic runs and the consumer of
  ``leadsync.sync-requests``; ``sync_requests``: starting a run (manual or scheduled);
- ``discovery``, ``subscriptions``, ``connect``: the member's forms, the push
  subscriptions, the OAuth sign-in of the command line;
- ``recent_leads``: a form's newest leads read from LinkedIn for the mapping page (read
  only: nothing reaches Kafka or the database).

Guarantee: a notification answered 2xx, or a lead counted as pulled, is already in Kafka
(acks=all); a run's watermark moves only after every lead of its window was acknowledged.
"""
