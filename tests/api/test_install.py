"""make install as an operator runs it: ./configure --prefix=/usr
--sysconfdir=/etc --localstatedir=/var --runstatedir=/run, then make
install DESTDIR=D, in a copy of the source tree (the worktree's config.mk
is left alone).  Then the installed tree is used as is: the installed
ferryd with the installed ferry.conf and policy.json (paths relocated
under D), behind nginx built from the installed site example and the
snippets it includes; the systemd unit passes systemd-analyze verify; the
man pages render without warnings; an edited ferry.conf survives a second
install."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (REPO, Client, free_port, write_hosts_file)

SRC_ITEMS = ("configure", "Makefile", "ferry.conf", "src", "include",
             "nginx", "policy", "tools", "doc")

INSTALLED = (
    "usr/sbin/ferryd", "usr/bin/ferry-token", "usr/bin/ferry-cert",
    "etc/ferry/ferry.conf", "etc/ferry/policy.json",
    "etc/nginx/snippets/ferry-http.conf",
    "etc/nginx/snippets/ferry-api-location.conf",
    "etc/nginx/snippets/ferry-ops-location.conf",
    "etc/nginx/snippets/ferry-tls.conf",
    "usr/share/doc/ferry/examples/nginx-site-ferry.conf",
    "usr/lib/systemd/system/ferryd.service",
    "usr/lib/sysusers.d/ferry.conf",
    "usr/share/man/man8/ferryd.8", "usr/share/man/man8/ferry-token.8",
    "usr/share/man/man5/ferry.conf.5",
)


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                       **kw)
    assert p.returncode == 0, "%s: %s%s" % (cmd, p.stdout[-2000:],
                                            p.stderr[-2000:])
    return p


@pytest.fixture(scope="module")
def inst():
    """(source copy, DESTDIR) after configure + make install."""
    tmp = Path(tempfile.mkdtemp(prefix="ferry-inst-"))
    src, dest = tmp / "src", tmp / "d"
    src.mkdir()
    for item in SRC_ITEMS:
        p = REPO / item
        if p.is_dir():
            shutil.copytree(p, src / item)
        else:
            shutil.copy2(p, src / item)
    try:
        run(["sh", "./configure", "--prefix=/usr", "--sysconfdir=/etc",
             "--localstatedir=/var", "--runstatedir=/run"], cwd=str(src))
        run(["make", "-s", "install", "DESTDIR=%s" % dest], cwd=str(src))
        yield src, dest
    finally:
        if os.environ.get("FERRY_KEEP_SANDBOX") != "1":
            shutil.rmtree(tmp, ignore_errors=True)


def test_install_tree(inst):
    _, d = inst
    missing = [f for f in INSTALLED if not (d / f).is_file()]
    assert missing == []
    assert os.access(d / "usr/sbin/ferryd", os.X_OK)
    assert (d / "var/lib/ferry").is_dir()
    # no snippet is called ferry.conf (that is ferryd's file)
    assert not (d / "etc/nginx/snippets/ferry.conf").exists()


def test_binary_defaults_follow_configure(inst):
    _, d = inst
    ferryd = str(d / "usr/sbin/ferryd")
    v = run([ferryd, "--version"]).stdout
    assert re.match(r"^ferryd \d+\.\d+\.\d+\n$", v), v
    h = run([ferryd, "--help"]).stdout
    assert "(default /etc/ferry/ferry.conf)" in h
    # the defaults of store, socket and policy: the installed ferry.conf
    # spells them, and the binary's own defaults agree (strings in it)
    conf = (d / "etc/ferry/ferry.conf").read_text()
    blob = (d / "usr/sbin/ferryd").read_bytes()
    for key, path in (("socket", "/run/ferry/ferryd.sock"),
                      ("store", "/var/lib/ferry/ferry.db"),
                      ("policy", "/etc/ferry/policy.json")):
        assert re.search(r"^%s = %s$" % (key, re.escape(path)), conf,
                         re.M), key
        assert path.encode() + b"\0" in blob, path
    bad = subprocess.run([ferryd, "--no-such-option"], capture_output=True,
                         text=True)
    assert bad.returncode == 2 and "usage: ferryd" in bad.stderr


def test_config_is_kept_on_reinstall(inst):
    src, d = inst
    conf = d / "etc/ferry/ferry.conf"
    pol = d / "etc/ferry/policy.json"
    # the ops location's allow list is the admin's to extend (its header
    # says so): a reinstall must not reset it to loopback only
    ops = d / "etc/nginx/snippets/ferry-ops-location.conf"
    ops_before = ops.read_text()
    ops.write_text(ops_before.replace("    deny  all;",
                                      "    allow 198.51.100.0/24;\n"
                                      "    deny  all;"))
    conf.write_text(conf.read_text() + "# edited by the admin\n")
    pol_before = pol.read_text()
    pol.write_text(pol_before.replace("{", "{ ", 1))
    edited = pol.read_text()
    p = run(["make", "-s", "install", "DESTDIR=%s" % d], cwd=str(src))
    assert conf.read_text().endswith("# edited by the admin\n")
    assert pol.read_text() == edited
    assert "keeping %s" % conf in p.stdout
    assert "allow 198.51.100.0/24;" in ops.read_text()
    pol.write_text(pol_before)
    ops.write_text(ops_before)


def test_site_example_includes_exactly_the_installed_snippets(inst):
    _, d = inst
    site = (d / "usr/share/doc/ferry/examples/nginx-site-ferry.conf") \
        .read_text()
    included = set(re.findall(r"^\s*include\s+(\S+);", site, re.M))
    snippets = {"/etc/nginx/snippets/" + p.name
                for p in (d / "etc/nginx/snippets").iterdir()}
    assert included == snippets
    assert "unix:/run/ferry/ferryd.sock;" in site


def test_man_pages_render_without_warnings(inst):
    _, d = inst
    if shutil.which("groff") is None:
        pytest.skip("groff not installed: man pages not rendered")
    for page in ("man8/ferryd.8", "man8/ferry-token.8", "man5/ferry.conf.5"):
        p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z",
                            str(d / "usr/share/man" / page)],
                           capture_output=True, text=True)
        assert p.returncode == 0 and p.stderr == "", (page, p.stderr)
        text = (d / "usr/share/man" / page).read_text()
        assert re.search(r"@[A-Z]+@", text) is None, page


def test_systemd_unit_verifies(inst, tmp_path):
    _, d = inst
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed (apt-get install systemd)")
    unit = (d / "usr/lib/systemd/system/ferryd.service").read_text()
    for want in ("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID",
                 "RuntimeDirectory=ferry", "StateDirectory=ferry",
                 "User=ferry", "NoNewPrivileges=yes",
                 "ProtectSystem=strict", "ProtectHome=yes",
                 "PrivateTmp=yes",
                 "ExecStart=/usr/sbin/ferryd -c /etc/ferry/ferry.conf"):
        assert want in unit.splitlines(), want
    # verify checks that ExecStart's binary exists: point it at the
    # installed one, nothing else changes
    (tmp_path / "ferryd.service").write_text(
        unit.replace("/usr/sbin/ferryd", str(d / "usr/sbin/ferryd")))
    p = subprocess.run(["systemd-analyze", "verify", "--man=no",
                        str(tmp_path / "ferryd.service")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    sysusers = (d / "usr/lib/sysusers.d/ferry.conf").read_text()
    assert re.search(r"^u ferry\s", sysusers, re.M)
    assert re.search(r"^m ferry\s+libvirt$", sysusers, re.M)
    if shutil.which("systemd-sysusers"):
        (tmp_path / "root/etc").mkdir(parents=True)
        p = subprocess.run(["systemd-sysusers", "--dry-run",
                            "--root=%s" % (tmp_path / "root"),
                            str(d / "usr/lib/sysusers.d/ferry.conf")],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        assert "Creating user 'ferry'" in p.stderr + p.stdout


def relocate(text, d):
    """The installed paths, moved under DESTDIR."""
    for path in ("/etc/ferry/", "/var/lib/ferry/", "/run/ferry/",
                 "/etc/nginx/snippets/"):
        text = text.replace(path, str(d) + path)
    return text


def test_installed_ferryd_serves_through_installed_nginx(inst, tmp_path):
    _, d = inst
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    (d / "run/ferry").mkdir(parents=True, exist_ok=True)
    # ferry.conf as installed, paths relocated; the socket group is made
    # by sysusers on a real host (here the sandbox's root nginx connects
    # as uid 0, which ferryd allows); the example hosts replaced by the
    # test:// ones
    conf = relocate((d / "etc/ferry/ferry.conf").read_text(), d)
    conf = re.sub(r"^socket_group = .*$", "", conf, flags=re.M)
    conf = conf[:conf.index("\n[host ")] + "\n"
    conf = conf.replace("runners = 2", "runners = 0")
    hosts = tmp_path / "hosts.conf"
    write_hosts_file(hosts)
    conf += "include = %s\n" % hosts
    conf_path = d / "etc/ferry/ferry.conf"
    conf_path.write_text(conf)
    ferryd = str(d / "usr/sbin/ferryd")
    run([ferryd, "-t", "-c", str(conf_path)])

    run(["sh", str(d / "usr/bin/ferry-cert"), "--dir", str(tmp_path),
         "--name", "server"])
    (tmp_path / "tokens.map").write_text("")
    token = run(["sh", str(d / "usr/bin/ferry-token"), "-f",
                 str(tmp_path / "tokens.map"), "add", "--user", "u1",
                 "--project", "p1", "--roles", "admin"]).stdout.strip()
    port = free_port()
    site = (d / "usr/share/doc/ferry/examples/nginx-site-ferry.conf") \
        .read_text()
    site = re.sub(r"^\s*listen \[::\]:8774 ssl;\n", "", site, flags=re.M)
    site = site.replace("listen 8774 ssl;", "listen 127.0.0.1:%d ssl;" % port)
    site = site.replace("/etc/ferry/tls/ferry.crt", str(tmp_path /
                                                         "server.crt"))
    site = site.replace("/etc/ferry/tls/ferry.key", str(tmp_path /
                                                        "server.key"))
    site = relocate(site.replace("/var/log/nginx/", str(tmp_path) + "/"),
                    d)
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        "user root;\nworker_processes 1;\npid %(t)s/nginx.pid;\n"
        "error_log %(t)s/error.log;\nevents { worker_connections 64; }\n"
        "http {\n    client_body_temp_path %(t)s/body;\n"
        "    fastcgi_temp_path %(t)s/fastcgi;\n"
        "    proxy_temp_path %(t)s/proxy;\n    scgi_temp_path %(t)s/scgi;\n"
        "    uwsgi_temp_path %(t)s/uwsgi;\n"
        "    include %(t)s/site.conf;\n}\n" % {"t": tmp_path})

    log = open(tmp_path / "ferryd.log", "w")
    proc = subprocess.Popen([ferryd, "-c", str(conf_path)], stdout=log,
                            stderr=subprocess.STDOUT)
    nginx_up = False
    try:
        sock = d / "run/ferry/ferryd.sock"
        end = time.monotonic() + 10
        while not sock.exists() and time.monotonic() < end:
            time.sleep(0.05)
        assert sock.exists(), (tmp_path / "ferryd.log").read_text()
        run([nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
             "-e", str(tmp_path / "error.log")])
        nginx_up = True
        c = Client("127.0.0.1", port, str(tmp_path / "server.crt"), token)
        r = c.get("/v2.1/servers")
        assert r.status == 200, r.body
        assert b'"servers"' in r.body
        assert c.get("/v2.1/servers", token=None).status == 401
        assert c.get("/", token=None).status == 200
        # the operator location of the installed snippet (loopback allowed)
        r = c.get("/healthz", token=None)
        assert r.status == 200 and b'"status": "ok"' in r.body, r.body
        # the store is where the installed config says, under DESTDIR
        assert (d / "var/lib/ferry/ferry.db").exists()
    finally:
        if nginx_up:
            subprocess.run([nginx, "-p", str(tmp_path), "-c",
                            str(tmp_path / "nginx.conf"), "-e",
                            str(tmp_path / "error.log"), "-s", "quit"],
                           capture_output=True, timeout=30)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
