"""Store staff's command line: reviewers (sign-in for the console) and the privacy purge.

    checkout_admin --db-file receipts.sqlite add-reviewer alice     # asks for the password
    checkout_admin --dsn "host=/run/postgresql dbname=walkout" purge --retention-s 86400
"""

from __future__ import annotations

import argparse
import getpass
import sys

from .store import ReceiptStore


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="checkout_admin", description="Walkout checkout administration")
    p.add_argument("--db-file", default="", help="SQLite file of the checkout node")
    p.add_argument("--dsn", default="", help="PostgreSQL DSN (replaces --db-file)")
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("add-reviewer", help="add a reviewer or change their password")
    a.add_argument("name")
    u = sub.add_parser("purge", help="delete evidence and basket history older than the retention period")
    u.add_argument("--retention-s", type=float, default=86400.0)
    args = p.parse_args(argv)
    if not args.db_file and not args.dsn:
        p.error("give --db-file or --dsn (an in-memory store would forget at once)")
    db = ReceiptStore(args.db_file, args.dsn)
    try:
        if args.cmd == "add-reviewer":
            password = getpass.getpass(f"password for {args.name}: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
            if len(password) < 8:
                print("a password needs at least 8 characters", file=sys.stderr)
                return 2
            db.add_reviewer(args.name, password)
            print(f"reviewer {args.name} can sign in")
        else:
            print(f"purged {db.purge(args.retention_s)} rows")
    finally:
        db.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
