"""Which problems keep a form's mapping set from being saved (pure, no I/O).

Mappings belong to a form, not to a version, so a set is checked against every known
version (:func:`mapping.checks.check_mappings` takes one): a source counts as
missing only when no version has it, and each version's own conflicts (two sources filling
one field) are reported once. A form with no known version is checked without one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mapping.checks import check_mappings, source_in_version, source_name
from mapping.errors import SOURCE_MISSING, MappingProblem
from schemas.mappings import ContactField, FieldMapping, FormVersionSpec


def mapping_problems(
    mappings: Sequence[FieldMapping],
    fields: Mapping[str, ContactField],
    versions: Sequence[FormVersionSpec],
) -> list[MappingProblem]:
    """Every reason to refuse ``mappings``, identity first, each reported once."""
    if not versions:
        return check_mappings(mappings, fields)
    problems: list[MappingProblem] = []
    seen: set[tuple[str, str | None, str | None]] = set()
    latest = versions[-1]
    for version in [latest, *versions[:-1]]:
        for problem in check_mappings(mappings, fields, version):
            if problem.code == SOURCE_MISSING and _in_any_version(problem, mappings, versions):
                continue
            key = (problem.code, problem.field, problem.source)
            if key not in seen:
                seen.add(key)
                problems.append(problem)
    return problems


def _in_any_version(
    problem: MappingProblem,
    mappings: Sequence[FieldMapping],
    versions: Sequence[FormVersionSpec],
) -> bool:
    concerned = [
        m for m in mappings if source_name(m) == problem.source and m.field_key == problem.field
    ]
    return any(source_in_version(m, v) for m in concerned for v in versions)
