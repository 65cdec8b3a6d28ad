"""[ferryd] link_prefix (issue 7; Nova's compute_link_prefix): links in
bodies are built on the configured prefix, not on the request's Host."""
import pytest

import conftest
from conftest import S


# ---- [ferryd] link_prefix (issue 7: Nova's compute_link_prefix) -----------

@pytest.fixture(scope="module")
def prefixed():
    yield from conftest.run_sandbox(
        "prefix", extra_config="\n[ferryd]\nlink_prefix = "
        "https://api.example.test:8774/compute\n")


def test_link_prefix_replaces_the_request_host(prefixed):
    """Every link is built on link_prefix, never on the Host header the
    client sent (here 127.0.0.1:PORT)."""
    c = prefixed.client(prefixed.tokens["ops"])
    evil = None
    r = c.get("/v2.1/", headers=evil)
    assert r.status == 200, r
    hrefs = [l["href"] for l in r.json()["version"]["links"]
             if l["rel"] == "self"]
    assert hrefs == ["https://api.example.test:8774/compute/v2.1/"], hrefs
    r = c.show(S["web-1"], headers=evil)
    assert r.status == 200, r
    for link in r.json()["server"]["links"]:
        assert link["href"].startswith(
            "https://api.example.test:8774/compute/"), link
        assert "127.0.0.1" not in link["href"]
    r = c.get("/v2.1/servers?limit=1", headers=evil)
    nxt = [l["href"] for l in r.json().get("servers_links", [])]
    assert nxt and all(h.startswith("https://api.example.test:8774/"
                                    "compute/v2.1/") for h in nxt), nxt
