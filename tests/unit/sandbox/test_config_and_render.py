"""Runtime config patches, and a lead's JSON under projections."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from sandbox.config import SandboxConfig, SignatureVariant
from sandbox.lead_api import LeadProjection
from sandbox.leads import LeadRecord
from sandbox.state import SandboxState


def test_patch_deep_merges_and_validates_as_a_whole() -> None:
    config = SandboxConfig()
    patched = config.patched({"faults": {"error_rate": 0.5}, "signature_variant": "c"})
    assert patched.faults.error_rate == 0.5
    assert patched.faults.error_statuses == config.faults.error_statuses
    assert patched.signature_variant is SignatureVariant.BARE
    assert config.faults.error_rate == 0  # the original is untouched
    with pytest.raises(ValidationError):
        config.patched({"faults": {"error_rate": 2}})
    with pytest.raises(ValidationError):
        config.patched({"no_such_knob": 1})


def test_public_config_masks_the_secret() -> None:
    assert "leadsync-demo-client-secret" not in json.dumps(SandboxConfig().public())


@pytest.fixture(scope="module")
def state() -> SandboxState:
    sandbox = SandboxState()
    sandbox.preload(20, 5)
    return sandbox


def render_lead(state: SandboxState, lead: LeadRecord, fields: str | None) -> bytes:
    return LeadProjection(state, fields).render(lead)


def test_default_lead_json_has_the_base_fields_only(state: SandboxState) -> None:
    lead = state.store.all()[0]
    body = json.loads(render_lead(state, lead, None))
    assert set(body) == {
        "id", "owner", "submitter", "leadType", "versionedLeadGenFormUrn", "submittedAt",
        "testLead", "leadMetadata", "associatedEntity", "formResponse",
    }  # fmt: skip


def test_projection_is_strict_and_the_form_is_the_leads_own_version(state: SandboxState) -> None:
    specs = "id,ownerInfo,form:(id,versionId,hiddenFields)"
    for lead in state.store.all():
        body = json.loads(render_lead(state, lead, specs))
        assert set(body) == {"id", "ownerInfo", "form"}
        version = state.catalog.versions[lead.form_urn]
        assert body["form"]["id"] == version.form_id
        assert body["form"]["versionId"] == version.version_id
        assert set(body["form"]) == {"id", "versionId", "hiddenFields"}


def test_cached_and_general_paths_agree(state: SandboxState) -> None:
    lead = state.store.all()[1]
    flat = "id,formResponse,testLead"
    nested = "id,formResponse:(answers),testLead"
    first = json.loads(render_lead(state, lead, flat))
    again = json.loads(render_lead(state, lead, flat))  # from the cache
    general = json.loads(render_lead(state, lead, nested))
    assert first == again
    assert general["formResponse"] == {"answers": first["formResponse"]["answers"]}
    form_only = json.loads(render_lead(state, lead, "form:(name)"))
    assert form_only == {"form": {"name": state.catalog.versions[lead.form_urn].name}}
