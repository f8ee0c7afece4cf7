"""Notification bodies and the webhook validation state machine."""

from __future__ import annotations

import json

from sandbox.leads import LeadRecord
from sandbox.push import notification_body
from sandbox.webhooks import WebhookRegistry

FORM = "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,1)"


def _lead(**changes: object) -> LeadRecord:
    fields: dict[str, object] = {
        "id": "249592fc-d272-44ba-a7db-c2bdce579507-6",
        "owner_key": "sponsoredAccount",
        "owner_urn": "urn:li:sponsoredAccount:1234567",
        "owner_name": "Acme Ads",
        "submitter": "urn:li:person:BcLKblgopR",
        "lead_type": "SPONSORED",
        "form_urn": FORM,
        "submitted_at": 1689894599288,
        "test_lead": True,
        "campaign": ("urn:li:sponsoredCampaign:198356826", "Spring"),
        "entity": ("associatedCreative", "urn:li:sponsoredCreative:241257736", "Banner"),
        "answers": [],
        "consents": [],
    }
    fields.update(changes)
    return LeadRecord(**fields)  # type: ignore[arg-type]  # test shorthand


def test_body_is_the_reference_example() -> None:
    body = json.loads(notification_body(_lead(), "CREATED", 1689894600000))
    assert body == {
        "type": "LEAD_ACTION",
        "leadGenFormResponse": "urn:li:leadGenFormResponse:249592fc-d272-44ba-a7db-c2bdce579507-6",
        "leadGenForm": FORM,
        "owner": {"sponsoredAccount": "urn:li:sponsoredAccount:1234567"},
        "associatedEntity": {"sponsoredCreative": "urn:li:sponsoredCreative:241257736"},
        "leadType": "SPONSORED",
        "leadAction": "CREATED",
        "occurredAt": 1689894600000,
    }


def test_event_leads_name_the_event_and_organic_leads_may_have_no_entity() -> None:
    event = _lead(
        owner_key="organization",
        owner_urn="urn:li:organization:2414183",
        lead_type="EVENT",
        campaign=None,
        entity=("event", "urn:li:event:123", "Open Day"),
    )
    assert json.loads(notification_body(event, "DELETED", 1))["associatedEntity"] == {
        "event": "urn:li:event:123"
    }
    company = _lead(owner_key="organization", lead_type="COMPANY", campaign=None, entity=None)
    assert "associatedEntity" not in json.loads(notification_body(company, "CREATED", 1))


def _registry() -> WebhookRegistry:
    registry = WebhookRegistry()
    registry.add(
        {
            "webhook": "https://host/hook",
            "owner_key": "sponsoredAccount",
            "owner_urn": "urn:li:sponsoredAccount:1234567",
            "lead_type": "SPONSORED",
            "versioned_form": None,
        },
        now_ms=0,
    )
    return registry


def test_three_failures_in_a_row_block_and_a_success_resets() -> None:
    registry = _registry()
    subscription = registry.subscriptions[1]
    hour = 3_600_000
    assert registry.due(hour, 7200) == []
    assert registry.due(2 * hour, 7200) == [subscription]
    for outcome, (failures, blocked) in [
        (False, (1, False)),
        (True, (0, False)),
        (False, (1, False)),
        (False, (2, False)),
        (False, (3, True)),
    ]:
        registry.settle(subscription, outcome, 0, 3)
        assert (subscription.failures, subscription.blocked) == (failures, blocked)
    assert registry.due(10**12, 7200) == []  # blocked: never challenged again


def test_matching_by_owner_type_and_form() -> None:
    registry = _registry()
    registry.add(
        {
            "webhook": "https://host/form",
            "owner_key": "sponsoredAccount",
            "owner_urn": "urn:li:sponsoredAccount:1234567",
            "lead_type": "SPONSORED",
            "versioned_form": "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,2)",
        },
        now_ms=0,
    )
    assert [s.id for s in registry.matching(_lead())] == [1]
    assert [s.id for s in registry.matching(_lead(form_urn=FORM.replace(",1)", ",2)")))] == [1, 2]
    assert registry.matching(_lead(owner_urn="urn:li:sponsoredAccount:9")) == []
