#!/usr/bin/env python3
"""What SQLite itself charges the portal's requests, natively (Python's sqlite3, no Spin).

Every Spin request opens its own connection, which parses the whole schema before its first
statement, and prepares each statement afresh. This prints, in microseconds per request:
opening a store and running one statement (empty, the portal's schema in write-ahead and in
rollback-journal mode, the same tables with no types, constraints or indexes), and the
signed-in bounce's statement prepared afresh against reused (prepared once).

    python3 benches/sqlite_costs.py

The schema is the portal's own: the statements of `MIGRATIONS` in src/store/mod.rs, applied in
order, as `store::migrate` applies them.
"""

import os
import re
import sqlite3
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def migrations():
    source = open(os.path.join(ROOT, "src/store/mod.rs"), encoding="utf-8").read()
    block = source[source.index("const MIGRATIONS") : source.index("pub const SCHEMA_VERSION")]
    block = "\n".join(line for line in block.split("\n") if not line.strip().startswith("//"))
    return re.findall(r'"((?:[^"\\]|\\.)*)"', block, re.S)


def bounce_statement():
    source = open(os.path.join(ROOT, "src/store/sessions.rs"), encoding="utf-8").read()
    live = re.search(r'const LIVE_SESSION: &str = "((?:[^"\\]|\\.)*)"', source, re.S).group(1)
    return "SELECT (SELECT MAX(version) FROM schema_migrations), " + live


def portal_store(path, journal_mode):
    store = sqlite3.connect(path)
    store.execute(f"PRAGMA journal_mode = {journal_mode}")
    store.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
    for statement in migrations():
        try:
            store.execute(statement)
        except sqlite3.OperationalError as error:
            if "duplicate column" not in str(error):
                raise
    store.execute("INSERT INTO schema_migrations VALUES (?, 0)", (len(migrations()),))
    store.execute("INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES ('u1', 'ada@example.com', 'x', 0, 0)")
    store.execute(
        "INSERT INTO portal_sessions (id, token_hash, user_id, created_at, last_active_at, expires_at) "
        "VALUES ('s1', x'01', 'u1', 0, 0, 9999999999)"
    )
    store.commit()
    store.close()


def bare_store(path, portal_path):
    portal = sqlite3.connect(portal_path)
    tables = [row[0] for row in portal.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    store = sqlite3.connect(path)
    for table in tables:
        columns = [row[1] for row in portal.execute(f"PRAGMA table_info({table})")]
        store.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
    store.commit()
    return len(tables), sum(len(list(portal.execute(f"PRAGMA table_info({t})"))) for t in tables)


def per_request(action, runs):
    start = time.perf_counter()
    for _ in range(runs):
        action()
    return (time.perf_counter() - start) / runs * 1e6


def open_and_run(path, statement, parameters=()):
    def action():
        connection = sqlite3.connect(path)
        connection.execute(statement, parameters).fetchall()
        connection.close()

    return action


def main():
    directory = tempfile.mkdtemp()
    empty = os.path.join(directory, "empty.db")
    sqlite3.connect(empty).execute("CREATE TABLE t (a)").connection.commit()
    wal = os.path.join(directory, "portal-wal.db")
    portal_store(wal, "WAL")
    rollback = os.path.join(directory, "portal-rollback.db")
    portal_store(rollback, "DELETE")
    bare = os.path.join(directory, "bare.db")
    tables, columns = bare_store(bare, rollback)
    entries = sqlite3.connect(rollback).execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]

    runs = 2000
    print(f"\nopen a store, run one statement, close (median of 3 rounds of {runs}), µs:\n")
    rows = [
        ("an empty store (one table)", open_and_run(empty, "SELECT * FROM t")),
        (f"the portal's schema ({entries} entries), write-ahead log", open_and_run(wal, "SELECT MAX(version) FROM schema_migrations")),
        ("the portal's schema, rollback journal", open_and_run(rollback, "SELECT MAX(version) FROM schema_migrations")),
        (f"its {tables} tables' {columns} columns alone (no types, constraints, indexes)", open_and_run(bare, "SELECT * FROM users")),
        ("the portal's schema, write-ahead log, the bounce's statement", open_and_run(wal, bounce_statement(), (b"\x01", 5))),
    ]
    for name, action in rows:
        times = sorted(per_request(action, runs) for _ in range(3))
        print(f"  {times[1]:7.1f}  {name}")

    runs = 5000
    print(f"\nthe bounce's statement on an open connection (median of 3 rounds of {runs}), µs:\n")
    fresh = sqlite3.connect(wal, cached_statements=0)
    reused = sqlite3.connect(wal)
    trivial = "SELECT MAX(version) FROM schema_migrations"
    for name, connection, statement in [
        ("a trivial statement, prepared each time", fresh, trivial),
        ("the bounce's, prepared each time (as every Spin request does)", fresh, bounce_statement()),
        ("the bounce's, prepared once", reused, bounce_statement()),
    ]:
        parameters = (b"\x01", 5) if statement != trivial else ()
        times = sorted(per_request(lambda: connection.execute(statement, parameters).fetchall(), runs) for _ in range(3))
        print(f"  {times[1]:7.1f}  {name}")


if __name__ == "__main__":
    main()
