"""Paging maths of the lead store: windows, totals, slices, retention."""

from __future__ import annotations

from sandbox.leads import LeadRecord
from sandbox.store import LeadQuery, LeadStore, TimeIndex

OWNER = "urn:li:sponsoredAccount:1"
V1 = "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7,1)"
V2 = "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:7,2)"


def _lead(number: int, at: int, *, form: str = V1, test: bool = False) -> LeadRecord:
    return LeadRecord(
        id=f"lead-{number}",
        owner_key="sponsoredAccount",
        owner_urn=OWNER,
        owner_name="Acme Ads",
        submitter="urn:li:person:x",
        lead_type="SPONSORED",
        form_urn=form,
        submitted_at=at,
        test_lead=test,
        campaign=None,
        entity=None,
        answers=[],
        consents=[],
    )


def _query(start: int = 0, end: int = 10**15, **kwargs: object) -> LeadQuery:
    fields: dict[str, object] = {"version_urn": None, "tests_only": False}
    fields.update(kwargs)
    return LeadQuery(OWNER, "SPONSORED", start_ms=start, end_ms=end, **fields)  # type: ignore[arg-type]  # test shorthand


def _store(count: int) -> LeadStore:
    store = LeadStore()
    for number in range(count):
        store.add(
            _lead(
                number, 1000 + number * 10, form=V2 if number % 3 == 0 else V1, test=number % 5 == 0
            )
        )
    return store


def test_pages_tile_the_window_with_a_constant_total() -> None:
    store = _store(95)
    seen: list[str] = []
    start = 0
    while True:
        page, total = store.find(_query(), start, 10)
        assert total == 95
        seen += [lead.id for lead in page]
        if len(page) < 10:
            break
        start += 10
    assert seen == [f"lead-{n}" for n in range(95)]
    assert start == 90


def test_window_is_start_inclusive_end_exclusive() -> None:
    store = _store(10)  # times 1000, 1010, ..., 1090
    page, total = store.find(_query(1010, 1050), 0, 100)
    assert total == 4
    assert [lead.submitted_at for lead in page] == [1010, 1020, 1030, 1040]


def test_start_past_the_end_gives_an_empty_page_and_the_total() -> None:
    page, total = _store(10).find(_query(), 50, 10)
    assert page == []
    assert total == 10


def test_filters_by_version_and_test_leads() -> None:
    store = _store(30)
    _, total_v2 = store.find(_query(version_urn=V2), 0, 100)
    _, total_tests = store.find(_query(tests_only=True), 0, 100)
    page, total_both = store.find(_query(version_urn=V2, tests_only=True), 0, 100)
    assert total_v2 == 10  # 0, 3, ..., 27
    assert total_tests == 6  # 0, 5, ..., 25
    assert total_both == 2
    assert [lead.id for lead in page] == ["lead-0", "lead-15"]


def test_unknown_owner_finds_nothing() -> None:
    query = LeadQuery("urn:li:sponsoredAccount:2", "SPONSORED", None, False, 0, 10**15)
    assert _store(5).find(query, 0, 10) == ([], 0)


def test_out_of_order_inserts_and_removal_keep_order() -> None:
    store = LeadStore()
    for number, at in enumerate([50, 10, 30, 30, 20]):
        store.add(_lead(number, at))
    assert [lead.submitted_at for lead in store.all()] == [10, 20, 30, 30, 50]
    removed = store.remove("lead-3")
    assert removed is not None
    assert removed.id == "lead-3"
    assert store.remove("lead-3") is None
    page, total = store.find(_query(), 0, 10)
    assert total == 4
    assert [lead.id for lead in page] == ["lead-1", "lead-4", "lead-2", "lead-0"]


def test_retention_drops_a_prefix_everywhere() -> None:
    store = _store(20)
    assert store.drop_before(1100) == 10
    assert len(store) == 10
    assert store.get("lead-0") is None
    _, total_v2 = store.find(_query(version_urn=V2), 0, 100)
    assert total_v2 == 3  # 12, 15, 18


def test_time_index_window_bisects() -> None:
    index = TimeIndex()
    for at in (5, 5, 7, 9):
        index.add(at, f"{at}")
    assert index.window(5, 9) == (0, 3)
    assert index.window(6, 100) == (2, 4)
    assert index.window(100, 200) == (4, 4)
