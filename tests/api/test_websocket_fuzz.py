"""Hostile input over /ws: generated frames never hurt the server or the other clients.

One hostile socket sends every generated frame; a bystander on the same
server must stay connected and served.  A frame that cannot be acted on is
answered on ``ProtocolError`` to its sender alone, and nothing is logged as
an error.  The runs are derandomized, so CI sees the same frames every time.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import Stream
from workflow.topics import ENGINE_TOPICS, PROTOCOL_ERROR, is_valid_topic

Connect = Callable[..., Stream]
COMMANDS = ("register-name", "subscribe", "unsubscribe", "publish-json")
FRAME_LIMIT = 64 * 1024
FUZZ = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

in_memory = pytest.mark.parametrize("backend_url", ["memory"], indirect=True)

texts = st.text(st.characters(codec="utf-8"))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
non_strings = json_values.filter(lambda value: not isinstance(value, str))
bad_topics = (
    texts.filter(lambda topic: not is_valid_topic(topic))
    | st.text("abc_.:/-", min_size=129, max_size=400)
    | st.builds(lambda head, c: f"{head}{c}tail", st.text("abc", max_size=5),
                st.characters(max_codepoint=31))
)
bad_names = (
    st.text(" \t", max_size=3)
    | st.text("name", min_size=129, max_size=300)
    | st.builds(lambda c: f"kio{c}sk", st.characters(max_codepoint=31))
)


def publish_frame(**fields: Any) -> str:
    return "publish-json:" + json.dumps(fields)


def cut(text: str, data: st.DataObject) -> str:
    return text[: data.draw(st.integers(0, len(text) - 1))]


not_commands = texts.filter(lambda frame: frame.partition(":")[0] not in COMMANDS
                            or ":" not in frame)
broken_json = st.builds(
    lambda topic, payload: json.dumps({"topic": topic, "payload": payload}),
    st.sampled_from(["news", "WelcomeCompleted"]), json_values,
)
refused_frames = st.one_of(
    not_commands,
    st.builds("{}:{}".format, st.sampled_from(["subscribe", "unsubscribe"]), bad_topics),
    st.builds("register-name:{}".format, bad_names),
    st.builds(lambda topic: publish_frame(topic=topic, payload="x"), bad_topics | non_strings),
    st.builds(lambda name: publish_frame(topic="news", publisher_name=name),
              non_strings.filter(lambda value: value is not None)),
    st.builds(lambda topic: publish_frame(topic=topic, payload="{}"), st.sampled_from(
        sorted(ENGINE_TOPICS))),
    st.builds(lambda payload: publish_frame(topic="WelcomeCompleted", payload=payload),
              texts.filter(lambda text: '"status"' not in text)),
    st.builds("publish-json:{}".format, json_values.filter(
        lambda value: not isinstance(value, dict) or not isinstance(value.get("topic"), str)
    ).map(json.dumps)),
    st.builds(lambda size: "publish-json:" + "x" * size,
              st.integers(FRAME_LIMIT + 1, 3 * FRAME_LIMIT)),
)
harmless_frames = st.one_of(
    st.builds(lambda topic: publish_frame(topic=topic, payload="x"),
              st.from_regex(r"[A-Za-z0-9_.:/-]{1,128}", fullmatch=True)
              .filter(lambda topic: topic not in ENGINE_TOPICS
                      and not topic.endswith("Completed"))),
    st.builds("register-name:{}".format, st.text("kiosk-7 ", min_size=1, max_size=40)
              .filter(str.strip)),
)


@pytest.fixture
def hostile(connect: Connect) -> Stream:
    """The client that sends every generated frame, one example after another."""
    return connect("hostile")


@pytest.fixture
def bystander(connect: Connect) -> Stream:
    """A well-behaved client on the same server, subscribed to news."""
    stream = connect("bystander")
    stream.subscribe("news")
    return stream


@pytest.fixture
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail the test if anything is logged as an error while it runs."""
    with caplog.at_level(logging.WARNING):
        yield
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def assert_both_still_served(hostile: Stream, bystander: Stream) -> None:
    """Both sockets are open and answered; the bystander heard nothing of the hostile frames."""
    hostile.sync()
    assert bystander.drain() == []


@in_memory
@FUZZ
@given(frame=refused_frames)
def test_ws_refused_frame_gets_one_protocol_error_and_hurts_nobody(
    hostile: Stream, bystander: Stream, no_errors_logged: None, frame: str
) -> None:
    hostile.send(frame)
    answers = hostile.drain()

    assert [message["topic"] for message in answers] == [PROTOCOL_ERROR], frame[:200]
    assert answers[0]["payload"]
    assert_both_still_served(hostile, bystander)


@in_memory
@FUZZ
@given(data=st.data(), document=broken_json)
def test_ws_every_prefix_of_a_publish_is_refused(
    hostile: Stream, bystander: Stream, no_errors_logged: None, data: st.DataObject,
    document: str,
) -> None:
    hostile.send("publish-json:" + cut(document, data))
    answers = hostile.drain()

    assert [message["topic"] for message in answers] == [PROTOCOL_ERROR]
    assert "publish-json" in answers[0]["payload"]
    assert_both_still_served(hostile, bystander)


@FUZZ
@given(frame=texts | harmless_frames)
def test_ws_any_text_frame_is_acted_on_or_refused_never_more(
    hostile: Stream, bystander: Stream, no_errors_logged: None, frame: str
) -> None:
    hostile.send(frame)
    answers = hostile.drain()

    refusals = [message for message in answers if message["topic"] == PROTOCOL_ERROR]
    assert len(refusals) <= 1, frame[:200]
    assert_both_still_served(hostile, bystander)


@in_memory
@FUZZ
@given(frame=st.binary(max_size=4096))
def test_ws_binary_frame_is_refused(
    hostile: Stream, bystander: Stream, no_errors_logged: None, frame: bytes
) -> None:
    hostile.session.send_bytes(frame)
    answers = hostile.drain()

    assert [message["topic"] for message in answers] == [PROTOCOL_ERROR]
    assert "binary" in answers[0]["payload"]
    assert_both_still_served(hostile, bystander)
