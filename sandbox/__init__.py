"""A faithful local stand-in for LinkedIn's Lead Sync APIs (``sandbox/README.md``).

``leadsync sandbox`` serves LinkedIn's ``/rest``, ``/v2/userinfo`` and ``/oauth/v2`` paths on
loopback, as strictly as LinkedIn (Rest.li 2.0 encoding, versions, tokens, registered
redirect URIs, throttling), from state held in memory and generated from a seed. Layout:
``restli``/``guard``/``errors`` (what is refused and how), ``oauth`` (tokens), ``members``
(the members and their roles), ``catalog``/``form_specs``/``questions`` (accounts and
forms), ``generate``/``leads``/``store`` (leads and their indexes), ``webhooks``/``push``/
``signing`` (notifications), ``faults`` (throttling and injected faults), ``state`` (all of
it, saved and loaded), ``*_api``/``control``/``app`` (HTTP), ``cli``/``control_cli``.

Push guarantee, as LinkedIn's: at most once per matching, validated subscription.
"""
