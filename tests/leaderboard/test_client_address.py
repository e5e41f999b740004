"""The client's address for throttles: X-Forwarded-For only from a trusted proxy."""

from __future__ import annotations

import pytest

from leaderboard.client_address import client_address

SPOOFED = {"REMOTE_ADDR": "203.0.113.9", "HTTP_X_FORWARDED_FOR": "198.51.100.1"}


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.ELUE_TRUSTED_PROXIES = []
    assert client_address(SPOOFED) == "203.0.113.9"


@pytest.mark.parametrize("proxies", [["10.0.0.2"], ["10.0.0.0/8", "fd00::/8"]])
def test_behind_a_trusted_proxy_the_last_untrusted_hop_counts(settings, proxies):
    settings.ELUE_TRUSTED_PROXIES = proxies
    meta = {"REMOTE_ADDR": "10.0.0.2",
            "HTTP_X_FORWARDED_FOR": "1.1.1.1, 198.51.100.7, 10.0.0.2"}  # client forged 1.1.1.1
    assert client_address(meta) == "198.51.100.7"
    assert client_address({"REMOTE_ADDR": "10.0.0.2"}) == "10.0.0.2"
    assert client_address({**SPOOFED, "REMOTE_ADDR": "192.0.2.1"}) == "192.0.2.1"
