"""Contract: leadFormResponses and leadForms, against the reference page's examples."""

from __future__ import annotations

from collections.abc import Callable

from tests.contract.conftest import ACCOUNT, VERSION, Sandbox, leads_query

ERROR_KEYS = {"message", "serviceErrorCode", "status"}


def test_reference_finder_request_answers_a_page_of_leads(sandbox: Sandbox) -> None:
    response = sandbox.rest("GET", leads_query())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"elements", "paging"}
    assert body["paging"]["start"] == 0
    assert body["paging"]["count"] == 100
    assert body["paging"]["total"] > 100
    assert {link["rel"] for link in body["paging"]["links"]} == {"next"}
    lead = body["elements"][0]
    assert set(lead) == {
        "ownerInfo", "associatedEntityInfo", "leadMetadataInfo", "owner", "leadType",
        "versionedLeadGenFormUrn", "id", "submittedAt", "testLead", "formResponse", "form",
    }  # fmt: skip
    assert lead["owner"] == {"sponsoredAccount": "urn:li:sponsoredAccount:1234567"}
    assert lead["leadType"] == "SPONSORED"
    assert set(lead["form"]) == {"hiddenFields", "creationLocale", "name", "id", "content"}
    form_id = int(lead["versionedLeadGenFormUrn"].split(":")[-1].split(",")[0])
    assert lead["form"]["id"] == form_id
    questions = {q["questionId"] for q in lead["form"]["content"]["questions"]}
    assert {a["questionId"] for a in lead["formResponse"]["answers"]} <= questions
    times = [e["submittedAt"] for e in body["elements"]]
    assert times == sorted(times)


def test_next_link_pages_on_with_the_same_encoding(sandbox: Sandbox) -> None:
    first = sandbox.rest("GET", leads_query(count="10")).json()
    href = first["paging"]["links"][0]["href"]
    assert href.startswith("/rest/leadFormResponses?")
    assert "owner=(sponsoredAccount:urn%3Ali%3AsponsoredAccount%3A1234567)" in href
    second = sandbox.rest("GET", href.removeprefix("/rest/")).json()
    assert second["paging"]["start"] == 10
    assert second["paging"]["total"] == first["paging"]["total"]
    assert not {e["id"] for e in first["elements"]} & {e["id"] for e in second["elements"]}


def test_over_encoded_owner_answers_400(sandbox: Sandbox) -> None:
    over = "%28sponsoredAccount%3Aurn%253Ali%253AsponsoredAccount%253A1234567%29"
    for owner in (over, "%28sponsoredAccount%3Aurn%3Ali%3AsponsoredAccount%3A1234567%29"):
        response = sandbox.rest("GET", leads_query(owner=owner))
        assert response.status_code == 400
        body = response.json()
        assert set(body) == ERROR_KEYS
        assert body["status"] == 400
        assert "percent-encoded" in body["message"]


def test_a_generic_clients_params_encoding_is_refused(sandbox: Sandbox) -> None:
    response = sandbox.http.get(
        "/rest/leadFormResponses",
        params={"q": "owner", "owner": "(sponsoredAccount:urn:li:sponsoredAccount:1234567)"},
        headers={
            "Authorization": f"Bearer {sandbox.token()}",
            "LinkedIn-Version": VERSION,
            "X-Restli-Protocol-Version": "2.0.0",
        },
    )
    assert b"owner=%28sponsoredAccount%3Aurn" in response.request.url.raw_path
    assert response.status_code == 400


def test_unencoded_urn_answers_400(sandbox: Sandbox) -> None:
    response = sandbox.rest(
        "GET", leads_query(owner="(sponsoredAccount:urn:li:sponsoredAccount:1234567)")
    )
    assert response.status_code == 400
    assert "percent-encoded" in response.json()["message"]


def test_versioned_form_filter_needs_a_fully_encoded_urn(sandbox: Sandbox) -> None:
    encoded = "urn%3Ali%3AversionedLeadGenForm%3A%28urn%3Ali%3AleadGenForm%3A7234246%2C2%29"
    response = sandbox.rest("GET", leads_query(versionedLeadGenFormUrn=encoded, count="1000"))
    assert response.status_code == 200
    elements = response.json()["elements"]
    assert elements
    assert {e["versionedLeadGenFormUrn"] for e in elements} == {
        "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,2)"
    }
    raw = "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7234246,2)"
    assert sandbox.rest("GET", leads_query(versionedLeadGenFormUrn=raw)).status_code == 400


def test_test_leads_only(sandbox: Sandbox) -> None:
    everything = sandbox.rest("GET", leads_query(count="1000")).json()
    tests = sandbox.rest("GET", leads_query(limitedToTestLeads="true", count="1000")).json()
    assert 0 < tests["paging"]["total"] < everything["paging"]["total"]
    assert all(e["testLead"] for e in tests["elements"])
    expected = sum(e["testLead"] for e in everything["elements"])
    assert everything["paging"]["total"] <= 1000  # one page holds them all
    assert tests["paging"]["total"] == expected


def test_time_window_restricts_and_counts(sandbox: Sandbox) -> None:
    everything = sandbox.rest("GET", leads_query(count="1000")).json()["elements"]
    start, end = everything[10]["submittedAt"], everything[30]["submittedAt"]
    window = sandbox.rest(
        "GET", leads_query(submittedAtTimeRange=f"(start:{start},end:{end})", count="1000")
    ).json()
    assert window["paging"]["total"] == 20
    assert [e["id"] for e in window["elements"]] == [e["id"] for e in everything[10:30]]
    no_end = sandbox.rest("GET", leads_query(submittedAtTimeRange=f"(start:{start})"))
    assert no_end.status_code == 400


def test_organic_leads_of_the_organization(sandbox: Sandbox) -> None:
    owner = "(organization:urn%3Ali%3Aorganization%3A2414183)"
    company = sandbox.rest("GET", leads_query(owner=owner, leadType="(leadType:COMPANY)")).json()
    event = sandbox.rest("GET", leads_query(owner=owner, leadType="(leadType:EVENT)")).json()
    assert company["elements"]
    assert event["elements"]
    assert all(
        e["owner"] == {"organization": "urn:li:organization:2414183"} for e in company["elements"]
    )
    full = sandbox.rest("GET", f"leadFormResponses/{event['elements'][0]['id']}").json()
    assert full["associatedEntity"]["event"].startswith("urn:li:event:")
    assert "leadMetadata" in full
    sponsored = sandbox.rest("GET", leads_query(owner=owner))  # leadType SPONSORED
    assert sponsored.status_code == 400


def test_unknown_parameter_or_finder_answers_400(sandbox: Sandbox) -> None:
    assert sandbox.rest("GET", leads_query(submittedAtRange="(start:0)")).status_code == 400
    assert sandbox.rest("GET", leads_query(q="criteria")).status_code == 400
    assert sandbox.rest("GET", leads_query(count="5000")).status_code == 400
    assert sandbox.rest("GET", leads_query(count="0")).status_code == 400
    assert sandbox.rest("GET", leads_query(start="-10")).status_code == 400


def test_get_one_lead_with_the_same_projection(sandbox: Sandbox) -> None:
    page = sandbox.rest("GET", leads_query(count="1")).json()["elements"]
    lead_id = page[0]["id"]
    response = sandbox.rest("GET", f"leadFormResponses/{lead_id}?fields=id,submitter,form:(name)")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == lead_id
    assert set(body) == {"id", "submitter", "form"}
    full = sandbox.rest("GET", f"leadFormResponses/{lead_id}").json()
    assert full["leadMetadata"]["sponsoredLeadMetadata"]["campaign"].startswith(
        "urn:li:sponsoredCampaign:"
    )
    assert full["associatedEntity"]["associatedCreative"].startswith("urn:li:sponsoredCreative:")
    missing = sandbox.rest("GET", "leadFormResponses/00000000-0000-4000-8000-000000000000-1")
    assert missing.status_code == 404
    assert set(missing.json()) == ERROR_KEYS


def test_leads_of_an_account_without_a_role_answer_403(sandbox: Sandbox) -> None:
    catalog = sandbox.state.catalog
    hidden = next(
        a for a in catalog.accounts.values() if not catalog.accessible(catalog.member_urn, a.urn)
    )
    owner = f"(sponsoredAccount:urn%3Ali%3AsponsoredAccount%3A{hidden.id})"
    response = sandbox.rest("GET", leads_query(owner=owner))
    assert response.status_code == 403
    assert response.json()["message"].startswith("Not enough permissions to access")
    lead = next(x for x in sandbox.state.store.all() if x.owner_urn == hidden.urn)
    assert sandbox.rest("GET", f"leadFormResponses/{lead.id}").status_code == 403


def test_lead_forms_finder_and_get(sandbox: Sandbox) -> None:
    response = sandbox.rest("GET", f"leadForms?q=owner&owner=(sponsoredAccount:{ACCOUNT})&count=10")
    assert response.status_code == 200
    forms = response.json()["elements"]
    test_form = next(f for f in forms if f["id"] == 7234246)
    assert test_form["name"] == "Test Form"
    assert test_form["versionId"] == 2
    assert test_form["state"] == "PUBLISHED"
    assert set(test_form) >= {
        "id", "versionId", "name", "owner", "created", "lastModified", "state",
        "creationLocale", "hiddenFields", "content",
    }  # fmt: skip
    assert set(test_form["content"]["legalInfo"]) == {
        "privacyPolicyUrl",
        "legalDisclaimer",
        "consents",
    }
    one = sandbox.rest("GET", "leadForms/7234246").json()
    assert one == test_form
    assert sandbox.rest("GET", "leadForms/1").status_code == 404


def test_ad_accounts_of_the_member(sandbox: Sandbox) -> None:
    users = sandbox.rest("GET", "adAccountUsers?q=authenticatedUser").json()
    accounts = {e["account"]: e["role"] for e in users["elements"]}
    assert accounts["urn:li:sponsoredAccount:1234567"] == "ACCOUNT_MANAGER"
    assert len(accounts) == users["paging"]["total"] == 3
    assert {e["user"] for e in users["elements"]} == {sandbox.state.catalog.member_urn}
    account = sandbox.rest("GET", "adAccounts/1234567").json()
    assert account["reference"] == "urn:li:organization:2414183"
    assert {"name", "status", "test"} <= set(account)
    catalog = sandbox.state.catalog
    hidden = next(
        a for a in catalog.accounts.values() if not catalog.accessible(catalog.member_urn, a.urn)
    )
    assert sandbox.rest("GET", f"adAccounts/{hidden.id}").status_code == 403
    assert sandbox.rest("GET", "adAccounts/999").status_code == 404


def test_retention_forgets_old_leads(fresh: Callable[[], Sandbox]) -> None:
    sandbox = fresh()
    sandbox.control("POST", "/leads/preload", {"count": 300, "spreadDays": 100})
    token = sandbox.token()
    before = sandbox.rest("GET", leads_query(count="1000"), token).json()
    oldest = before["elements"][0]
    sandbox.control("PATCH", "/config", {"retention_days": 90})
    after = sandbox.rest("GET", leads_query(count="1000"), token).json()
    assert 0 < after["paging"]["total"] < before["paging"]["total"]
    assert sandbox.rest("GET", f"leadFormResponses/{oldest['id']}", token).status_code == 404
    # Time passing does the same: 300 days on, everything is gone (with a fresh token).
    sandbox.control("POST", "/clock/advance", {"seconds": 300 * 86_400})
    late = sandbox.rest("GET", leads_query(), sandbox.token()).json()
    assert late["paging"]["total"] == 0
    assert late["elements"] == []
