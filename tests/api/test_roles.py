"""Identity from nginx's FERRY_ROLES: every role counts, however many the
token lists (ferryd used to keep only the first 8, so an admin listed 9th
was refused as a non-admin).  A sandbox of its own, so that the tokens are
in the map from the start (no nginx reload late in the session)."""
import pytest

from conftest import assert_fault, run_sandbox

OSM_POLICY = ("Policy doesn't allow os_compute_api:os-migrations:index to "
              "be performed.")


def roles_with_admin_at(pos, total):
    names = ["role%02d" % i for i in range(1, total + 1)]
    names[pos - 1] = "admin"
    return ",".join(names)


MANY = {
    "admin9": ("many9", "p1", roles_with_admin_at(9, 9)),
    "admin20": ("many20", "p1", roles_with_admin_at(20, 20)),
    "noadmin20": ("many0", "p1", ",".join("role%02d" % i
                                          for i in range(1, 21))),
}


@pytest.fixture(scope="module")
def rsb():
    yield from run_sandbox("roles", tokens=MANY)


@pytest.mark.parametrize("who", ["admin9", "admin20"])
def test_admin_listed_late_is_honoured(rsb, who):
    c = rsb.client(rsb.tokens[who])
    r = c.get("/v2.1/os-migrations")
    assert r.status == 200, r
    assert "migrations" in r.json()
    r = c.get("/v2.1/servers/detail?all_tenants=1")
    assert r.status == 200, r


def test_twenty_roles_without_admin_are_not_admin(rsb):
    r = rsb.client(rsb.tokens["noadmin20"]).get("/v2.1/os-migrations")
    assert_fault(r, 403, "forbidden", OSM_POLICY)
