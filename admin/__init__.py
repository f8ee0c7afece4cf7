"""The admin HTTP API (and, later, the web console on top of it).

``app.create_app(settings)`` builds the ASGI app; ``server.serve`` runs it. Routes live in
``*_routes.py`` by resource; ``auth`` (the token), ``limits`` (the body-size middleware),
``error_responses`` (the one error shape), ``dependencies`` (what routes receive),
``request_publisher`` (the one producer of manual imports' requests); pure parts (``status``
indicator, ``csv_export`` cells, ``mapping_validation``) are tested without services. Every
query is a ``sinks`` function on the process's one pool.
"""
