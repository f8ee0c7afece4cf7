"""Models of everything that crosses a boundary: LinkedIn payloads and the topic envelopes.

Incoming LinkedIn shapes are parsed leniently (unknown keys kept, open enums as strings)
because LinkedIn adds fields without notice; what leadsync itself publishes is strict.
"""
