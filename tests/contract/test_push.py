"""Contract: lead notification subscriptions, the challenge handshake and signed pushes."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable

from leadsync.settings import DEMO_CLIENT_SECRET
from tests.contract.conftest import ACCOUNT, Hook, Receiver, Sandbox

OWNER = {"sponsoredAccount": "urn:li:sponsoredAccount:1234567"}
TEST_FORM = 7234246
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TWO_HOURS = 2 * 3600


def _hmac(message: bytes) -> str:
    return hmac.new(DEMO_CLIENT_SECRET.encode(), message, hashlib.sha256).hexdigest()


def _subscribe(sandbox: Sandbox, url: str, **extra: object) -> int:
    body = {"webhook": url, "owner": OWNER, "leadType": "SPONSORED"} | extra
    response = sandbox.rest("POST", "leadNotifications", json=body)
    assert response.status_code == 201, response.text
    assert response.content == b""
    return int(response.headers["x-restli-id"])


def _new_lead(sandbox: Sandbox, form_id: int = TEST_FORM) -> str:
    lead_id: str = sandbox.control("POST", "/leads", {"count": 1, "formId": form_id})["ids"][0]
    sandbox.flush()
    return lead_id


def _lead_ids(hook: Hook) -> list[str]:
    return [json.loads(body)["leadGenFormResponse"].split(":")[-1] for body, _ in hook.posts]


def test_subscribe_runs_the_handshake_then_list_get_delete(
    fresh: Callable[[], Sandbox], receiver: Receiver
) -> None:
    sandbox = fresh()
    url, hook = receiver.hook("crud")
    subscription_id = _subscribe(sandbox, url)
    assert len(hook.challenges) == 1
    assert UUID4.match(hook.challenges[0])
    criteria = (
        f"leadNotifications?q=criteria&owner=(value:(sponsoredAccount:{ACCOUNT}))"
        "&leadType=(leadType:SPONSORED)"
    )
    listed = sandbox.rest("GET", criteria).json()
    expected = {"id": subscription_id, "webhook": url, "owner": OWNER, "leadType": "SPONSORED"}
    assert listed["elements"] == [expected]
    assert listed["paging"]["total"] == 1
    assert sandbox.rest("GET", f"leadNotifications/{subscription_id}").json() == expected
    over_encoded = criteria.replace("(value:(", "%28value%3A%28")
    assert sandbox.rest("GET", over_encoded).status_code == 400
    assert sandbox.rest("DELETE", f"leadNotifications/{subscription_id}").status_code == 204
    assert sandbox.rest("GET", f"leadNotifications/{subscription_id}").status_code == 404
    assert sandbox.rest("GET", criteria).json()["elements"] == []


def test_subscribing_twice_makes_two_subscriptions(
    fresh: Callable[[], Sandbox], receiver: Receiver
) -> None:
    sandbox = fresh()
    url, hook = receiver.hook("twice")
    assert _subscribe(sandbox, url) != _subscribe(sandbox, url)
    _new_lead(sandbox)
    assert len(hook.posts) == 2  # why clients list before they create


def test_a_webhook_failing_the_handshake_is_not_subscribed(
    fresh: Callable[[], Sandbox], receiver: Receiver
) -> None:
    sandbox = fresh()
    sandbox.control("PATCH", "/config", {"challenge_timeout_s": 0.3})
    reasons = {
        "fail": "answered HTTP 500",
        "wrong": "challengeResponse is not the HMAC-SHA256",
        "plain": "Content-Type is not application/json",
        "slow": "no answer within 0.3 s",
    }
    for mode, reason in reasons.items():
        url, hook = receiver.hook(f"refuse-{mode}")
        hook.mode = mode
        body = {"webhook": url, "owner": OWNER, "leadType": "SPONSORED"}
        response = sandbox.rest("POST", "leadNotifications", json=body)
        assert response.status_code == 400
        assert response.json()["message"].startswith(f"webhook validation failed: {reason}")
        assert len(hook.challenges) == 1
    unreachable = {"webhook": "http://127.0.0.1:9/hook", "owner": OWNER}
    response = sandbox.rest("POST", "leadNotifications", json=unreachable)
    assert "unreachable" in response.json()["message"]
    assert sandbox.control("GET", "/webhooks")["subscriptions"] == []


def test_notification_signature_verifies_for_each_reading(
    fresh: Callable[[], Sandbox], receiver: Receiver
) -> None:
    sandbox = fresh()
    url, hook = receiver.hook("signed")
    _subscribe(sandbox, url)
    lead_id = _new_lead(sandbox)  # default reading (a)
    sandbox.control("PATCH", "/config", {"signature_variant": "b"})
    _new_lead(sandbox)
    sandbox.control("PATCH", "/config", {"signature_variant": "c"})
    _new_lead(sandbox)
    assert len(hook.posts) == 3
    (body_a, headers_a), (body_b, headers_b), (body_c, headers_c) = hook.posts
    assert headers_a["x-li-signature"] == _hmac(b"hmacsha256=" + body_a)
    assert headers_b["x-li-signature"] == "hmacsha256=" + _hmac(body_b)
    assert headers_c["x-li-signature"] == _hmac(body_c)
    assert headers_a["content-type"] == "application/json"

    notification = json.loads(body_a)
    assert set(notification) == {
        "type", "leadGenFormResponse", "leadGenForm", "owner", "associatedEntity",
        "leadType", "leadAction", "occurredAt",
    }  # fmt: skip
    assert notification["type"] == "LEAD_ACTION"
    assert notification["leadAction"] == "CREATED"
    assert notification["leadGenFormResponse"] == f"urn:li:leadGenFormResponse:{lead_id}"
    assert notification["owner"] == OWNER
    assert notification["associatedEntity"]["sponsoredCreative"].startswith(
        "urn:li:sponsoredCreative:"
    )
    assert isinstance(notification["occurredAt"], int)
    # The full lead is then fetched by the id after "urn:li:leadGenFormResponse:".
    lead = sandbox.rest("GET", f"leadFormResponses/{lead_id}").json()
    assert lead["versionedLeadGenFormUrn"] == notification["leadGenForm"]


def test_deleting_a_lead_pushes_deleted_and_removes_it(
    fresh: Callable[[], Sandbox], receiver: Receiver
) -> None:
    sandbox = fresh()
    url, hook = receiver.hook("deleted")
    _subscribe(sandbox, url)
    lead_id = _new_lead(sandbox)
    sandbox.control("DELETE", f"/leads/{lead_id}")
    sandbox.flush()
    actions = [json.loads(body)["leadAction"] for body, _ in hook.posts]
    assert actions == ["CREATED", "DELETED"]
    assert _lead_ids(hook) == [lead_id, lead_id]
    assert sandbox.rest("GET", f"leadFormResponses/{lead_id}").status_code == 404


def test_three_failed_challenges_block_the_subscription(
    fresh: Callable[[], Sandbox], receiver: Receiver
) -> None:
    sandbox = fresh()
    url, hook = receiver.hook("blocked")
    _subscribe(sandbox, url)
    delivered = [_new_lead(sandbox)]
    hook.mode = "fail"
    for failures in (1, 2):
        advanced = sandbox.control("POST", "/clock/advance", {"seconds": TWO_HOURS})
        assert [c["ok"] for c in advanced["challenges"]] == [False]
        delivered.append(_new_lead(sandbox))  # not blocked yet: still delivered
        assert sandbox.control("GET", "/webhooks")["subscriptions"][0]["failures"] == failures
    sandbox.control("POST", "/clock/advance", {"seconds": TWO_HOURS})
    assert len(hook.challenges) == 4  # the handshake, then three re-validations
    assert sandbox.control("GET", "/webhooks")["subscriptions"][0]["blocked"] is True
    lost = _new_lead(sandbox)
    hook.mode = "ok"  # the endpoint recovers, but a blocked subscription stays blocked
    sandbox.control("POST", "/clock/advance", {"seconds": TWO_HOURS})
    also_lost = _new_lead(sandbox)
    assert _lead_ids(hook) == delivered
    assert len(hook.challenges) == 4
    outcomes = {p["lead_id"]: p["outcome"] for p in sandbox.control("GET", "/pushes")["pushes"]}
    assert outcomes[lost] == outcomes[also_lost] == "lost-blocked"


def test_a_successful_revalidation_resets_the_failure_count(
    fresh: Callable[[], Sandbox], receiver: Receiver
) -> None:
    sandbox = fresh()
    url, hook = receiver.hook("flaky")
    _subscribe(sandbox, url)
    for mode in ("fail", "fail", "ok", "fail", "fail"):
        hook.mode = mode
        sandbox.control("POST", "/clock/advance", {"seconds": TWO_HOURS})
    subscription = sandbox.control("GET", "/webhooks")["subscriptions"][0]
    assert (subscription["failures"], subscription["blocked"]) == (2, False)
    hook.mode = "ok"
    lead_id = _new_lead(sandbox)
    assert _lead_ids(hook) == [lead_id]


def test_only_matching_subscriptions_are_notified(
    fresh: Callable[[], Sandbox], receiver: Receiver
) -> None:
    sandbox = fresh()
    owner_url, owner_hook = receiver.hook("owner-level")
    form_url, form_hook = receiver.hook("form-level")
    _subscribe(sandbox, owner_url)
    version_2 = "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,2)"
    _subscribe(sandbox, form_url, versionedForm=version_2)
    on_test_form = _new_lead(sandbox, TEST_FORM)
    other_form = next(
        f.id for f in sandbox.state.catalog.forms_of(OWNER["sponsoredAccount"]) if f.id != TEST_FORM
    )
    on_other_form = _new_lead(sandbox, other_form)
    other_account = next(
        f.id
        for f in sandbox.state.catalog.live_forms()
        if f.latest.owner_urn != OWNER["sponsoredAccount"]
    )
    _new_lead(sandbox, other_account)
    assert _lead_ids(owner_hook) == [on_test_form, on_other_form]
    assert _lead_ids(form_hook) == [on_test_form]


def test_push_faults_drop_duplicate_and_reorder(
    fresh: Callable[[], Sandbox], receiver: Receiver
) -> None:
    sandbox = fresh()
    url, hook = receiver.hook("faulty")
    _subscribe(sandbox, url)
    sandbox.control("PATCH", "/config", {"push_faults": {"drop_rate": 1.0}})
    dropped = _new_lead(sandbox)
    assert hook.posts == []
    sandbox.control("PATCH", "/config", {"push_faults": {"drop_rate": 0, "duplicate_rate": 1.0}})
    twice = _new_lead(sandbox)
    assert _lead_ids(hook) == [twice, twice]
    sandbox.control("PATCH", "/config", {"push_faults": {"duplicate_rate": 0, "reorder_rate": 1.0}})
    ids = sandbox.control("POST", "/leads", {"count": 2, "formId": TEST_FORM})["ids"]
    sandbox.flush()
    assert _lead_ids(hook)[2:] == [ids[1], ids[0]]
    sandbox.control(
        "PATCH", "/config", {"push_faults": {"reorder_rate": 0, "delay_rate": 1.0, "delay_ms": 300}}
    )
    late = _new_lead(sandbox)
    assert _lead_ids(hook)[-1] == late
    fates = {p["lead_id"]: p["outcome"] for p in sandbox.control("GET", "/pushes")["pushes"]}
    assert fates[dropped] == "dropped"
