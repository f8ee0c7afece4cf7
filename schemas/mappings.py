"""Field mappings: which LinkedIn answer fills which contact field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SourceKind = Literal["predefined", "question", "consent", "hidden"]


@dataclass(frozen=True)
class FieldMapping:
    """LinkedIn ``predefinedField`` / ``questionId`` / consent id / hidden field -> field key.

    Keys never use labels: labels are localized and editable on LinkedIn.
    """

    source_kind: SourceKind
    source_key: str
    field_key: str
    automatic: bool = False
