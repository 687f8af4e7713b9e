"""Settings of workflow serve: flags over environment over defaults, bad values named."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow.settings import KIB, MIB, Settings, SettingsError, load_settings


def test_settings_default_to_loopback_8081_the_local_plan_and_memory() -> None:
    settings = load_settings({}, {})

    assert settings == Settings()
    assert (settings.host, settings.port, settings.redis_url) == ("127.0.0.1", 8081, None)
    assert settings.plan == Path("execution_plan.toml")
    assert (settings.max_body_size, settings.max_frame_size) == (MIB, 64 * KIB)


def test_settings_come_from_the_environment() -> None:
    environ = {
        "WORKFLOW_PLAN": "plans/onboarding.toml", "WORKFLOW_HOST": "0.0.0.0",
        "WORKFLOW_PORT": "9000", "WORKFLOW_REDIS_URL": "redis://cache:6379/2",
        "WORKFLOW_KEY_PREFIX": "staging", "WORKFLOW_ACCESS_TOKEN": "t0k",
        "WORKFLOW_ALLOWED_ORIGINS": "https://A.example, https://b.example:8443/",
        "WORKFLOW_MAX_BODY_SIZE": "2MiB", "WORKFLOW_MAX_FRAME_SIZE": "16KiB",
    }

    settings = load_settings({}, environ)

    assert settings == Settings(
        plan=Path("plans/onboarding.toml"), host="0.0.0.0", port=9000,
        redis_url="redis://cache:6379/2", key_prefix="staging", access_token="t0k",
        allowed_origins=("https://a.example", "https://b.example:8443"),
        max_body_size=2 * MIB, max_frame_size=16 * KIB,
    )


def test_settings_flags_win_over_the_environment() -> None:
    environ = {"WORKFLOW_PORT": "9000", "WORKFLOW_HOST": "0.0.0.0", "WORKFLOW_ACCESS_TOKEN": "t"}

    settings = load_settings({"port": "9100", "host": None}, environ)

    assert (settings.port, settings.host) == (9100, "0.0.0.0")


def test_settings_empty_redis_url_means_memory() -> None:
    assert load_settings({}, {"WORKFLOW_REDIS_URL": ""}).redis_url is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WORKFLOW_PORT", "eighty"), ("WORKFLOW_PORT", "70000"), ("WORKFLOW_PORT", "0"),
        ("WORKFLOW_REDIS_URL", "http://cache:6379"), ("WORKFLOW_KEY_PREFIX", "two words"),
        ("WORKFLOW_MAX_BODY_SIZE", "big"), ("WORKFLOW_MAX_FRAME_SIZE", "0"),
        ("WORKFLOW_ALLOWED_ORIGINS", "kiosk.example"), ("WORKFLOW_PLAN", " "),
        ("WORKFLOW_PROTECT_READS", "maybe"), ("WORKFLOW_ALLOW_INSECURE_BIND", "2"),
        ("WORKFLOW_WS_PING_INTERVAL", "-1"), ("WORKFLOW_WS_PING_TIMEOUT", "soon"),
        ("WORKFLOW_ACCESS_TOKEN", ""), ("WORKFLOW_ACCESS_TOKEN", "  \n"),
    ],
)
def test_settings_bad_environment_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^{variable}: "):
        load_settings({}, {variable: value})


def test_settings_bad_flag_value_names_the_flag() -> None:
    with pytest.raises(SettingsError, match=r"^--port: 'x' is not a port number"):
        load_settings({"port": "x"}, {"WORKFLOW_PORT": "9000"})


@pytest.mark.parametrize(("word", "on"), [("1", True), ("Yes", True), ("on", True),
                                          ("0", False), ("false", False), ("", False)])
def test_settings_switches_read_the_usual_words(word: str, on: bool) -> None:
    environ = {"WORKFLOW_ACCESS_TOKEN": "t", "WORKFLOW_PROTECT_READS": word}

    assert load_settings({}, environ).protect_reads is on


def test_settings_ping_interval_and_timeout_are_seconds() -> None:
    settings = load_settings({"ws_ping_interval": "0.5"}, {"WORKFLOW_WS_PING_TIMEOUT": "0"})

    assert (settings.ws_ping_interval, settings.ws_ping_timeout) == (0.5, 0.0)
    assert (Settings().ws_ping_interval, Settings().ws_ping_timeout) == (20.0, 20.0)


def test_settings_protected_reads_need_a_token() -> None:
    with pytest.raises(SettingsError, match=r"^--protect-reads: .*--access-token"):
        load_settings({"protect_reads": "1"}, {})


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_settings_loopback_needs_no_token(host: str) -> None:
    assert load_settings({"host": host}, {}).host == host


@pytest.mark.parametrize(("flags", "environ", "named"), [
    ({"host": "0.0.0.0"}, {}, "--host"),
    ({}, {"WORKFLOW_HOST": "192.168.1.20"}, "WORKFLOW_HOST"),
    ({"host": "onboarding.example"}, {"WORKFLOW_ALLOW_INSECURE_BIND": "no"}, "--host"),
])
def test_settings_open_address_without_a_token_is_refused(
    flags: dict[str, str], environ: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError, match=f"^{named}: .* not a loopback address") as refused:
        load_settings(flags, environ)

    assert "--access-token" in str(refused.value)
    assert "--allow-insecure-bind" in str(refused.value)


@pytest.mark.parametrize(("flags", "environ"), [
    ({"host": "0.0.0.0", "access_token": "t"}, {}),
    ({"host": "0.0.0.0", "allow_insecure_bind": "1"}, {}),
    ({}, {"WORKFLOW_HOST": "0.0.0.0", "WORKFLOW_ALLOW_INSECURE_BIND": "true"}),
])
def test_settings_open_address_is_served_with_a_token_or_when_told(
    flags: dict[str, str], environ: dict[str, str]
) -> None:
    assert load_settings(flags, environ).host == "0.0.0.0"
