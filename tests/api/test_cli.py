"""The real openstack CLI (python3-openstackclient, novaclient underneath)
against the sandbox, authenticated with admin_token against the endpoint
(spec 1.7).  Name lookup lists only the caller's project (spec 1.6), so
the p1 admin token ("ops") is used."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import S

OPENSTACK = shutil.which("openstack") or "/usr/bin/openstack"

pytestmark = pytest.mark.skipif(not os.path.exists(OPENSTACK),
                                reason="python3-openstackclient missing")


@pytest.fixture(scope="module")
def osc(sandbox):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["HOME"] = str(sandbox.workdir)      # no stray clouds.yaml / cache

    def run(*args, token="ops"):
        cmd = [OPENSTACK, "--os-auth-type", "admin_token",
               "--os-endpoint", sandbox.url,
               "--os-token", sandbox.tokens[token],
               "--os-cacert", sandbox.cacert] + list(args)
        return subprocess.run(cmd, capture_output=True, text=True, env=env,
                              timeout=120)
    return run


def show(osc, ident, *extra):
    p = osc("server", "show", "-f", "json", *extra, ident)
    assert p.returncode == 0, p
    return json.loads(p.stdout)


def test_show_by_id(osc):
    s = show(osc, S["web-1"])
    assert s["id"] == S["web-1"]
    assert s["name"] == "web-1"
    assert s["status"] == "ACTIVE"
    assert s["project_id"] == "p1"
    assert s["properties"] in ({"role": "test"}, "role='test'")
    assert s["OS-EXT-SRV-ATTR:host"] == "host-a"


def test_show_by_name(osc):
    assert show(osc, "web-1")["id"] == S["web-1"]
    # name=vm1 also matches myvm10 on the server; the client keeps the
    # exact match
    assert show(osc, "vm1")["id"] == S["vm1"]


def test_show_by_name_is_project_scoped(osc):
    p = osc("server", "show", "other-1")
    assert p.returncode == 1, p
    assert "No server with a name or ID of 'other-1' exists." in p.stderr
    # by id, an admin sees any project
    assert show(osc, S["other-1"])["name"] == "other-1"


def test_show_duplicate_name(osc):
    p = osc("server", "show", "dup-name")
    assert p.returncode == 1, p
    assert "More than one server exists with the name 'dup-name'." \
        in p.stderr


def test_live_migrate_with_host(osc, sandbox, api, migs):
    uuid = migs.take()
    name = api.show(uuid).json()["server"]["name"]
    p = osc("server", "migrate", "--live-migration", "--host", "host-b",
            "--os-compute-api-version", "2.30", name)
    assert p.returncode == 0, p
    s = show(osc, name)
    assert s["id"] == uuid
    assert s["status"] == "MIGRATING"
    assert s["OS-EXT-STS:task_state"] == "migrating"
    (m,) = sandbox.migrations(uuid)
    assert m["migration_type"] == "live-migration"
    assert m["dest_compute"] == "host-b"
    assert (m["user_id"], m["project_id"]) == ("ops", "p1")
    # a second one is refused with Nova's message
    p = osc("server", "migrate", "--live-migration", "--host", "host-b",
            "--os-compute-api-version", "2.30", uuid)
    assert p.returncode == 1, p
    assert ("Cannot 'os-migrateLive' instance %s while it is in task_state "
            "migrating (HTTP 409)" % uuid) in p.stderr


def test_live_migrate_member_forbidden(osc):
    p = osc("server", "migrate", "--live-migration", S["web-1"],
            token="member")
    assert p.returncode == 1, p
    assert ("Policy doesn't allow os_compute_api:os-migrate-server:"
            "migrate_live to be performed. (HTTP 403)") in p.stderr
