"""The behaviour every backend shares, run once per backend kind."""

from __future__ import annotations

import asyncio

from tests.workflow.inbox import Inbox
from workflow.backends import Backend


async def test_backend_create_run_stores_it_and_refuses_a_taken_id(backend: Backend) -> None:
    assert await backend.create_run("r1", b"first")
    assert not await backend.create_run("r1", b"second")
    assert await backend.get_run("r1") == b"first"


async def test_backend_get_run_returns_none_for_an_unknown_run(backend: Backend) -> None:
    assert await backend.get_run("nobody") is None


async def test_backend_replace_run_writes_only_at_the_expected_seq(backend: Backend) -> None:
    await backend.create_run("r1", b"seq0")

    assert await backend.replace_run("r1", b"seq1", expected_seq=0)
    assert not await backend.replace_run("r1", b"stale", expected_seq=0)
    assert await backend.get_run("r1") == b"seq1"
    assert await backend.replace_run("r1", b"seq2", expected_seq=1)
    assert await backend.get_run("r1") == b"seq2"


async def test_backend_replace_run_refuses_a_missing_run(backend: Backend) -> None:
    assert not await backend.replace_run("nobody", b"data", expected_seq=0)
    assert await backend.get_run("nobody") is None


async def test_backend_replace_run_lets_one_of_50_concurrent_writers_win(
    backend: Backend,
) -> None:
    await backend.create_run("r1", b"seq0")

    writes = [backend.replace_run("r1", f"w{i}".encode(), expected_seq=0) for i in range(50)]
    results = await asyncio.gather(*writes)

    assert results.count(True) == 1
    winner = results.index(True)
    assert await backend.get_run("r1") == f"w{winner}".encode()


async def test_backend_list_runs_returns_every_stored_run(backend: Backend) -> None:
    for run_id in ("a", "b", "c"):
        await backend.create_run(run_id, run_id.encode())
    await backend.replace_run("b", b"b2", expected_seq=0)

    assert sorted(await backend.list_runs()) == [b"a", b"b2", b"c"]


async def test_backend_put_record_with_create_only_adds_a_new_id(backend: Backend) -> None:
    assert await backend.put_record("devices", "d1", b"one", create=True)
    assert not await backend.put_record("devices", "d1", b"again", create=True)
    assert await backend.get_record("devices", "d1") == b"one"


async def test_backend_put_record_without_create_only_replaces(backend: Backend) -> None:
    assert not await backend.put_record("devices", "d1", b"ghost")
    assert await backend.get_record("devices", "d1") is None

    await backend.put_record("devices", "d1", b"one", create=True)
    assert await backend.put_record("devices", "d1", b"two")
    assert await backend.get_record("devices", "d1") == b"two"


async def test_backend_put_record_with_expected_writes_only_over_what_was_read(
    backend: Backend,
) -> None:
    await backend.put_record("devices", "d1", b"one", create=True)

    assert not await backend.put_record("devices", "d1", b"stale", expected=b"zero")
    assert await backend.get_record("devices", "d1") == b"one"
    assert await backend.put_record("devices", "d1", b"two", expected=b"one")
    assert await backend.get_record("devices", "d1") == b"two"
    assert not await backend.put_record("ghosts", "g1", b"boo", expected=b"two")
    assert await backend.get_record("ghosts", "g1") is None


async def test_backend_list_records_keeps_collections_apart(backend: Backend) -> None:
    await backend.put_record("devices", "d1", b"dev1", create=True)
    await backend.put_record("devices", "d2", b"dev2", create=True)
    await backend.put_record("accounts", "a1", b"acc1", create=True)

    assert sorted(await backend.list_records("devices")) == [b"dev1", b"dev2"]
    assert await backend.list_records("accounts") == [b"acc1"]
    assert await backend.list_records("empty") == []
    assert await backend.get_record("accounts", "d1") is None


async def test_backend_delete_record_tells_whether_it_existed(backend: Backend) -> None:
    await backend.put_record("devices", "d1", b"dev1", create=True)

    assert await backend.delete_record("devices", "d1")
    assert not await backend.delete_record("devices", "d1")
    assert await backend.get_record("devices", "d1") is None


async def test_backend_publish_reaches_subscribed_topics_only(backend: Backend) -> None:
    inbox = Inbox()
    backend.set_receiver(inbox)
    await backend.subscribe("Wanted")

    await backend.publish("Unwanted", b"no")
    await backend.publish("Wanted", b"yes")

    assert await inbox.get() == ("Wanted", b"yes")
    assert await inbox.drain() == []


async def test_backend_unsubscribe_stops_delivery(backend: Backend) -> None:
    inbox = Inbox()
    backend.set_receiver(inbox)
    await backend.subscribe("Topic")
    await backend.subscribe("Other")
    await backend.unsubscribe("Topic")

    await backend.publish("Topic", b"gone")
    await backend.publish("Other", b"kept")

    assert await inbox.get() == ("Other", b"kept")
    assert await inbox.drain() == []


async def test_backend_ping_answers_when_started(backend: Backend) -> None:
    await backend.ping()


async def test_backend_claim_is_held_by_one_owner_until_its_lease_ends(backend: Backend) -> None:
    assert await backend.claim("run:1", "a", 0.3)
    assert not await backend.claim("run:1", "b", 0.3)
    assert not await backend.claim("run:1", "a", 0.3)

    await asyncio.sleep(0.5)

    assert await backend.claim("run:1", "b", 0.3)


async def test_backend_claim_renew_keeps_it_for_its_owner_only(backend: Backend) -> None:
    await backend.claim("run:1", "a", 0.3)

    assert await backend.claim("run:1", "a", 0.3, renew=True)
    assert not await backend.claim("run:1", "b", 0.3, renew=True)
    assert await backend.claim("run:2", "b", 0.3, renew=True)
