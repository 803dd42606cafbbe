"""Fixtures: a real PostgreSQL server from Debian's packages, started here in a temp dir
on a unix socket (no TCP at all), as the `postgres` user when we are root."""

import glob
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from walkout_checkout.store import ReceiptStore

ROOT = Path(__file__).resolve().parents[4]


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="session")
def postgres_dsn():
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not installed (Debian package postgresql)")
    run_as: list[str] = []
    work = Path(tempfile.mkdtemp(prefix="walkout-pg-"))
    if os.geteuid() == 0:  # initdb refuses root
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
        os.chown(work, pw.pw_uid, pw.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    data, log = work / "data", work / "log"
    try:
        subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "walkout", "-A", "trust", "-E", "UTF8", "--no-sync"],
                       check=True, capture_output=True, timeout=60)
        opts = f"-k {work} -c listen_addresses='' -c fsync=off"
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", opts, "-w", "-t", "30", "start"],
                       check=True, capture_output=True, timeout=60)
        yield f"host={work} user=walkout dbname=postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def pg_store(postgres_dsn):
    """A ReceiptStore on the server, with its tables emptied first."""
    import psycopg

    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        for table in ("sessions", "basket_changes", "receipts", "review_decisions", "reviewers", "evidence", "outbox", "decision_cursors", "event_verdicts"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
    store = ReceiptStore(dsn=postgres_dsn)
    yield store
    store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def any_store(request, tmp_path):
    """The same tests on both backends."""
    if request.param == "sqlite":
        store = ReceiptStore(tmp_path / "r.sqlite")
        yield store
        store.close()
    else:
        yield request.getfixturevalue("pg_store")


class Commerce:
    """A commerce endpoint answering 503 to the first `fail` requests."""

    def __init__(self, fail: int) -> None:
        self.fail, self.received, self.keys = fail, [], []
        app = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if app.fail > 0:
                    app.fail -= 1
                    self.send_response(503)
                else:
                    app.received.append(json.loads(body))
                    app.keys.append(self.headers["Idempotency-Key"])
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/receipts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def commerce():
    """A local commerce endpoint that answers 503 twice, then 200."""
    c = Commerce(fail=2)
    yield c
    c.close()
