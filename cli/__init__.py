"""The ``leadsync`` command line, the top of the house: one sub-command per process
(``worker``, ``ingress``, ``scheduler``, ``admin``, ``sandbox``) and per operator task.

It may import every package below it; only the test and benchmark ``harness`` imports it.
Each command imports what it runs inside its own function, so ``leadsync worker`` loads
neither the admin API nor the LinkedIn sandbox (a unit test holds that).
"""
