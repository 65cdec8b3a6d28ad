"""ferryd under systemd's Type=notify: the master sends READY=1 once its
workers are forked, RELOADING=1 then READY=1 around a SIGHUP, STOPPING=1
on SIGTERM, as datagrams on $NOTIFY_SOCKET (written by hand, no
libsystemd).  A Python socket stands in for systemd."""
import os
import signal
import socket
import subprocess
import shutil
import tempfile

from conftest import FERRYD, HOSTS_DIR, REPO


def test_sd_notify_ready_reload_stop():
    tmp = tempfile.mkdtemp(prefix="ferry-notify-")
    try:
        conf = os.path.join(tmp, "ferry.conf")
        with open(conf, "w") as f:
            f.write("[ferryd]\nsocket = %(t)s/ferryd.sock\n"
                    "store = %(t)s/ferry.db\npolicy = %(r)s/policy/"
                    "policy.json\nworkers = 1\nrunners = 0\n"
                    % {"t": tmp, "r": REPO})
            f.write("[host host-a]\nuri = test://%s/host-a.xml\n"
                    % HOSTS_DIR)
        nsock = os.path.join(tmp, "notify")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(nsock)
        s.settimeout(20)
        env = dict(os.environ, NOTIFY_SOCKET=nsock)
        p = subprocess.Popen([str(FERRYD), "-c", conf], env=env,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            msg = s.recv(4096).decode()
            assert msg.splitlines()[0] == "READY=1", msg
            p.send_signal(signal.SIGHUP)
            msg = s.recv(4096).decode()
            assert msg.startswith("RELOADING=1\nMONOTONIC_USEC="), msg
            msg = s.recv(4096).decode()
            assert msg.splitlines()[0] == "READY=1", msg
            p.send_signal(signal.SIGTERM)
            assert s.recv(4096).decode() == "STOPPING=1"
            assert p.wait(timeout=30) == 0
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            s.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_log_target_is_checked(tmp_path):
    """log_target: stderr or syslog; anything else stops ferryd -t with
    file:line."""
    for target, rc in (("stderr", 0), ("syslog", 0), ("journal", 1)):
        conf = tmp_path / "ferry.conf"
        conf.write_text("[ferryd]\npolicy = %s/policy/policy.json\n"
                        "log_target = %s\n[host host-a]\n"
                        "uri = test://%s/host-a.xml\n"
                        % (REPO, target, HOSTS_DIR))
        p = subprocess.run([str(FERRYD), "-t", "-c", str(conf)],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == rc, p.stderr
        if rc:
            assert "ferry.conf:3: log_target must be stderr or syslog, " \
                "got 'journal'" in p.stderr
