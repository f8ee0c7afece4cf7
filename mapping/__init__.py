"""Field mapping, pure and without I/O: a LinkedIn lead plus its form version and the
account's mappings become a contact's identity and field values.

- ``apply``: ``map_lead`` (the whole lead) and ``auto_mappings`` (predefined questions
  mapped on discovery);
- ``answers``, ``coerce``, ``dates``, ``numbers``, ``contact_points``: one answer turned into
  one field's value, by the field's kind;
- ``checks``: a mapping set checked against a form's versions before it is saved;
- ``errors``: the codes and exceptions, each naming the field and the reason.

Used by the import agent (streams), the admin API's mapping checks and discovery alike.
Guarantee: the same lead, version and mappings always map to the same values.
"""
