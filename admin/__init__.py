"""The admin HTTP API (and, later, the web console on top of it).

``admin.app.create_app(settings)`` builds the ASGI app; ``admin.server.serve`` runs it. Routes
live in ``*_routes.py`` by resource; pure parts (status indicator, CSV cells, mapping-set
checks) are their own modules and tested without services.
"""
