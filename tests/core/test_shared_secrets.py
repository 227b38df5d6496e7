"""Servers that sign with different keys are reported by /api/ready (several servers, Redis)."""

from __future__ import annotations

import uuid

import pytest
import redis

from core import config as config_module
from core.health import secrets_check, secrets_fingerprint


@pytest.fixture
def store_and_prefix():
    """The test Redis database and a key prefix of this test's own, removed after."""
    store = redis.Redis.from_url(str(config_module.env("TEST_REDIS_URL")))
    prefix = f"test-secrets-{uuid.uuid4().hex[:12]}:"
    yield store, prefix
    for key in store.scan_iter(prefix + "*"):
        store.delete(key)


def _fingerprint(secret_key, payment_secret="payments"):
    return secrets_fingerprint(
        {"SECRET_KEY": secret_key, "PAYMENT_CALLBACK_SECRET": payment_secret}
    )


def test_the_fingerprint_names_the_keys_without_telling_them():
    shared = _fingerprint("a shared secret key")
    assert shared == _fingerprint("a shared secret key")
    assert shared != _fingerprint("a key of its own")
    assert shared != _fingerprint("a shared secret key", "other payments")
    assert "shared" not in shared and len(shared) == 16


def test_servers_with_the_same_keys_agree_and_one_with_its_own_is_reported(store_and_prefix):
    store, prefix = store_and_prefix
    shared = _fingerprint("a shared secret key")
    assert secrets_check(store, shared, prefix) is None
    assert secrets_check(store, shared, prefix) is None  # the second server
    own = _fingerprint("generated in its own instance directory")
    assert secrets_check(store, own, prefix) == (
        "differ: 2 sets of SECRET_KEY/PAYMENT_CALLBACK_SECRET in use"
    )
    # The servers with the shared keys see it too, on their next check.
    assert secrets_check(store, shared, prefix) is not None
