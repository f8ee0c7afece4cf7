"""Models of everything that crosses a boundary: LinkedIn payloads (``linkedin``,
``notifications``, ``tokens``), the envelopes on each topic (``envelopes``), the events
leadsync publishes (``events``: contact changes as CloudEvents, error events), mapping
shapes shared by the stages (``mappings``), and the JSON Schema files for consumers
(``export`` writes ``json/``, ``asyncapi`` writes ``asyncapi.json``; ``TOPICS.md``
describes the topics).

Incoming LinkedIn shapes are parsed leniently (unknown keys kept, open enums as strings)
because LinkedIn adds fields without notice; what leadsync itself publishes is strict.
"""
