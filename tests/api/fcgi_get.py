"""A minimal FastCGI client for tests: python3 fcgi_get.py SOCKET PATH
sends one GET (Responder, no body) and prints what comes back on stdout
as repr(bytes); b'' means the connection was closed unanswered."""
import socket
import struct
import sys


def record(rtype, content, req_id=1):
    return struct.pack(">BBHHBB", 1, rtype, req_id, len(content), 0, 0) \
        + content


def pair(k, v):
    k, v = k.encode(), v.encode()
    return bytes([len(k), len(v)]) + k + v


def main():
    sock_path, path = sys.argv[1], sys.argv[2]
    params = b"".join(pair(k, v) for k, v in (
        ("REQUEST_METHOD", "GET"), ("REQUEST_URI", path),
        ("QUERY_STRING", ""), ("FERRY_AUTHENTICATED", "1"),
        ("FERRY_USER_ID", "intruder"), ("FERRY_PROJECT_ID", "p1"),
        ("FERRY_ROLES", "admin")))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock_path)
    data = b""
    try:
        s.sendall(record(1, struct.pack(">HB5x", 1, 0))   # BEGIN responder
                  + record(4, params) + record(4, b"") + record(5, b""))
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, BrokenPipeError):
        pass
    print(repr(data))


if __name__ == "__main__":
    main()
