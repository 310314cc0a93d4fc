"""Settings come from the environment once, validated; prod refuses placeholder secrets."""

from __future__ import annotations

import pytest

from cryptocfd.settings import SettingsError, load_settings

STRONG = "k" * 40
SNAPSHOT_KEY = "ab" * 32


def test_load_settings_when_the_environment_is_empty_gives_dev_defaults() -> None:
    settings = load_settings({})

    assert settings.env == "dev"
    assert settings.redis_prefix == ""
    assert settings.snapshot_every_s == 60.0
    assert settings.snapshot_every_events == 100_000
    assert str(settings.state_path) == "state"


def test_load_settings_when_values_are_given_as_text_converts_them() -> None:
    settings = load_settings(
        {
            "CRYPTOCFD_HTTP_PORT": "9000",
            "CRYPTOCFD_SNAPSHOT_EVERY_S": "3600",
            "CRYPTOCFD_ALLOW_REDIS_WITHOUT_AOF": "true",
            "CRYPTOCFD_STATE_DIR": "/var/lib/cryptocfd",
        }
    )

    assert settings.http_port == 9000
    assert settings.snapshot_every_s == 3600.0
    assert settings.allow_redis_without_aof is True
    assert str(settings.state_path) == "/var/lib/cryptocfd"


@pytest.mark.parametrize(
    ("secret", "snapshot_key"),
    [
        (None, SNAPSHOT_KEY),
        ("changeme", SNAPSHOT_KEY),
        ("short", SNAPSHOT_KEY),
        (STRONG, None),
        (STRONG, "placeholder"),
    ],
)
def test_load_settings_when_prod_lacks_a_real_secret_refuses(
    secret: str | None, snapshot_key: str | None
) -> None:
    env = {"CRYPTOCFD_ENV": "prod"}
    if secret is not None:
        env["CRYPTOCFD_SECRET_KEY"] = secret
    if snapshot_key is not None:
        env["CRYPTOCFD_SNAPSHOT_KEY"] = snapshot_key

    with pytest.raises(SettingsError, match="refusing to start in prod"):
        load_settings(env)


def test_load_settings_when_prod_has_real_secrets_and_smtp_starts() -> None:
    env = {
        "CRYPTOCFD_ENV": "prod",
        "CRYPTOCFD_SECRET_KEY": STRONG,
        "CRYPTOCFD_SNAPSHOT_KEY": SNAPSHOT_KEY,
        "SMTP_HOST": "smtp.example.com",
        "CRYPTOCFD_PUBLIC_URL": "https://trade.example.com",
    }

    assert load_settings(env).env == "prod"


@pytest.mark.parametrize(
    ("public_url", "problem"),
    [
        (None, "CRYPTOCFD_PUBLIC_URL is missing"),
        ("http://trade.example.com", "CRYPTOCFD_PUBLIC_URL must be an https:// URL"),
        ("https://", "CRYPTOCFD_PUBLIC_URL must be an https:// URL"),
        ("trade.example.com", "CRYPTOCFD_PUBLIC_URL must be an https:// URL"),
    ],
)
def test_load_settings_when_prod_has_no_https_public_url_refuses(
    public_url: str | None, problem: str
) -> None:
    env = {
        "CRYPTOCFD_ENV": "prod",
        "CRYPTOCFD_SECRET_KEY": STRONG,
        "CRYPTOCFD_SNAPSHOT_KEY": SNAPSHOT_KEY,
        "SMTP_HOST": "smtp.example.com",
    }
    if public_url is not None:
        env["CRYPTOCFD_PUBLIC_URL"] = public_url

    with pytest.raises(SettingsError, match=f"refusing to start in prod: {problem}"):
        load_settings(env)


def test_load_settings_when_prod_has_no_smtp_refuses_rather_than_log_sign_in_links() -> None:
    env = {
        "CRYPTOCFD_ENV": "prod",
        "CRYPTOCFD_SECRET_KEY": STRONG,
        "CRYPTOCFD_SNAPSHOT_KEY": SNAPSHOT_KEY,
    }

    with pytest.raises(SettingsError, match="SMTP_HOST"):
        load_settings(env)


@pytest.mark.parametrize(
    "env",
    [
        {"CRYPTOCFD_ENV": "staging"},
        {"CRYPTOCFD_HTTP_PORT": "eighty"},
        {"CRYPTOCFD_SNAPSHOT_EVERY_EVENTS": "0"},
        {"CRYPTOCFD_SNAPSHOTS_KEPT": "0"},
    ],
)
def test_load_settings_when_a_value_is_invalid_says_so(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        load_settings(env)


def test_load_settings_when_the_feed_is_chosen_keeps_it_and_the_binance_url() -> None:
    assert load_settings({}).feed == "simulated"
    assert load_settings({}).binance_ws_url == "wss://stream.binance.com:9443"

    settings = load_settings(
        {"CRYPTOCFD_FEED": "replay:/data/btc.csv", "BINANCE_WS_URL": "ws://127.0.0.1:9443"}
    )

    assert settings.feed == "replay:/data/btc.csv"
    assert settings.binance_ws_url == "ws://127.0.0.1:9443"


@pytest.mark.parametrize("feed", ["kraken", "replay:", "replay:  ", "Binance"])
def test_load_settings_when_the_feed_is_unknown_refuses(feed: str) -> None:
    with pytest.raises(SettingsError, match="CRYPTOCFD_FEED"):
        load_settings({"CRYPTOCFD_FEED": feed})


def test_load_settings_when_seed_days_is_set_or_negative_takes_it_or_refuses() -> None:
    assert load_settings({}).seed_days == 30
    assert load_settings({"CRYPTOCFD_SEED_DAYS": "0"}).seed_days == 0
    with pytest.raises(SettingsError, match="CRYPTOCFD_SEED_DAYS"):
        load_settings({"CRYPTOCFD_SEED_DAYS": "-1"})


def test_load_settings_when_trusted_proxies_are_given_lists_them_and_refuses_a_bad_one() -> None:
    default = load_settings({})
    given = load_settings({"CRYPTOCFD_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8,,fd00::/8"})

    assert default.trusted_proxy_list == ()
    assert given.trusted_proxy_list == ("127.0.0.1", "10.0.0.0/8", "fd00::/8")
    for bad in ("10.0.0.1/8", "proxy.internal", "*"):
        with pytest.raises(SettingsError, match="CRYPTOCFD_TRUSTED_PROXIES"):
            load_settings({"CRYPTOCFD_TRUSTED_PROXIES": bad})


def test_load_settings_when_the_lease_ttl_is_set_or_too_short_takes_it_or_refuses() -> None:
    assert load_settings({}).engine_lease_ttl_ms == 2000
    assert load_settings({"CRYPTOCFD_ENGINE_LEASE_TTL_MS": "5000"}).engine_lease_ttl_ms == 5000
    with pytest.raises(SettingsError, match="CRYPTOCFD_ENGINE_LEASE_TTL_MS"):
        load_settings({"CRYPTOCFD_ENGINE_LEASE_TTL_MS": "10"})


def test_load_settings_when_the_resume_window_is_set_or_out_of_bounds_takes_it_or_refuses() -> None:
    defaults = load_settings({})
    assert (defaults.ws_resume_frames, defaults.ws_resume_per_account) == (100_000, 500)
    given = load_settings(
        {"CRYPTOCFD_WS_RESUME_FRAMES": "10", "CRYPTOCFD_WS_RESUME_PER_ACCOUNT": "3"}
    )
    assert (given.ws_resume_frames, given.ws_resume_per_account) == (10, 3)
    with pytest.raises(SettingsError, match="at least one event"):
        load_settings({"CRYPTOCFD_WS_RESUME_FRAMES": "0"})
    with pytest.raises(SettingsError, match="CRYPTOCFD_WS_RESUME_PER_ACCOUNT is at most 500"):
        load_settings({"CRYPTOCFD_WS_RESUME_PER_ACCOUNT": "501"})


def test_load_settings_when_the_four_eyes_threshold_is_given_reads_dollars_exactly() -> None:
    assert load_settings({}).four_eyes_above_cents == 100_000
    assert load_settings({"CRYPTOCFD_FOUR_EYES_ABOVE": "2500.50"}).four_eyes_above_cents == 250_050
    assert load_settings({"CRYPTOCFD_FOUR_EYES_ABOVE": " 0 "}).four_eyes_above_cents == 0
    for bad in ("-1", "1e3", "10.001", "lots", ""):
        with pytest.raises(SettingsError, match="CRYPTOCFD_FOUR_EYES_ABOVE"):
            load_settings({"CRYPTOCFD_FOUR_EYES_ABOVE": bad})
