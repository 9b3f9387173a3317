"""Phase 3: SQL abuse through `query_results` on a server started with
`--query-timeout 3 --query-memory-mib 256` over a small real history. Each
hostile input must come back as rows or an isError within the timeout plus
2 s — never a protocol error or a dead server — the server must stay
responsive between inputs, no query worker may outlive its query, and
nothing outside the home may be read (a canary file and /etc/passwd never
show up in answers) or written (COPY targets, the working directory)."""

import secrets

from harness import (PASSWD_MARK, PhaseReport, RssSampler, Sandbox, log, query_workers_of,
                     wait_until)

QUERY_TIMEOUT_S = 3
BOUND_S = QUERY_TIMEOUT_S + 2
# The SDK client's own decoding and schema check of a large answer counts in
# the measured time; each MiB of answer gets this much beyond the bound.
CLIENT_S_PER_MIB = 0.5
SERVER_ARGS = ("--query-timeout", str(QUERY_TIMEOUT_S), "--query-memory-mib", "256")
TABLE = "mlcc_ci.benchmark_results"
EXTERNAL = "CREATE EXTERNAL TABLE e (line VARCHAR) STORED AS CSV"
REFUSE, ANY = "refuse", "any"
RANGE_200K = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 200000)"


def nested_subqueries(depth: int) -> str:
    sql = "SELECT 1 AS x"
    for i in range(depth):
        sql = f"SELECT x FROM ({sql}) t{i}"
    return sql


def nested_case(depth: int) -> str:
    sql = "1"
    for _ in range(depth):
        sql = f"CASE WHEN true THEN {sql} ELSE 0 END"
    return f"SELECT {sql}"


def corpus(box: Sandbox, canary: str) -> list[tuple[str, str, str]]:
    """(name, sql, expectation): `refuse` must be an isError; `any` may be
    rows or an isError."""
    out, cp = box.outside, box.outside / "canary.csv"
    return [
        ("drop table", f"DROP TABLE {TABLE}", REFUSE),
        ("drop schema", "DROP SCHEMA mlcc_ci CASCADE", REFUSE),
        ("insert", f"INSERT INTO {TABLE} (model_name) VALUES ('x')", REFUSE),
        ("delete", f"DELETE FROM {TABLE}", REFUSE),
        ("update", f"UPDATE {TABLE} SET model_name = 'x'", REFUSE),
        ("copy query to", f"COPY (SELECT * FROM {TABLE}) TO '{out}/copy.csv'", REFUSE),
        ("copy table to", f"COPY {TABLE} TO '{out}/copy.parquet' STORED AS PARQUET", REFUSE),
        ("copy to relative", "COPY (SELECT 1) TO 'relative.csv'", REFUSE),
        ("external table /etc", f"{EXTERNAL} LOCATION '/etc/'", REFUSE),
        ("external table canary", f"{EXTERNAL} LOCATION '{cp}'", REFUSE),
        ("create table as", "CREATE TABLE t AS SELECT 1", REFUSE),
        ("create view", "CREATE VIEW v AS SELECT 1", REFUSE),
        ("create function", "CREATE FUNCTION f(a INT) RETURNS INT RETURN a + 1", REFUSE),
        ("select then drop", f"SELECT 1; DROP TABLE {TABLE}", REFUSE),
        ("two selects", "SELECT 1; SELECT 2", REFUSE),
        ("comment hides drop", f"/* x */ DROP TABLE {TABLE}", REFUSE),
        ("set option", "SET datafusion.execution.target_partitions = 1", REFUSE),
        ("set memory limit", "SET datafusion.runtime.memory_limit = '100G'", REFUSE),
        ("prepare", "PREPARE p AS SELECT 1", REFUSE),
        ("file as table /etc/passwd", "SELECT * FROM '/etc/passwd'", REFUSE),
        ("file as table canary", f"SELECT * FROM '{cp}'", REFUSE),
        ("read_csv", "SELECT * FROM read_csv('/etc/passwd')", REFUSE),
        ("read_parquet", "SELECT * FROM read_parquet('/etc/passwd')", REFUSE),
        ("read_json canary", f"SELECT * FROM read_json('{cp}')", REFUSE),
        ("cte over a file", "WITH x AS (SELECT * FROM '/etc/passwd') SELECT * FROM x", REFUSE),
        ("explain analyze", f"EXPLAIN ANALYZE SELECT count(*) FROM {TABLE}", ANY),
        ("show all", "SHOW ALL", ANY),
        ("settings table", "SELECT * FROM information_schema.df_settings", ANY),
        ("huge literal (>64 KiB)", "SELECT '" + "a" * 70000 + "'", REFUSE),
        ("huge whitespace", "SELECT 1" + " " * 100000, REFUSE),
        ("string_agg bomb", "SELECT length(string_agg(repeat('x', 100000), ',')) AS n "
                            "FROM generate_series(1, 200000)", ANY),
        ("repeat bomb", "SELECT repeat('x', 2147483647) AS s", ANY),
        ("wide rows", "SELECT repeat('y', 1000000) AS s FROM generate_series(1, 100)", ANY),
        ("cross join count", "SELECT count(*) FROM generate_series(1, 100000) a, "
                             "generate_series(1, 100000) b", ANY),
        ("cross join sort", "SELECT a.value FROM generate_series(1, 1000000) a CROSS JOIN "
                            "generate_series(1, 1000000) b ORDER BY a.value * b.value DESC", ANY),
        ("endless series", "SELECT count(*) FROM generate_series(1, 1000000000000)", ANY),
        ("array bomb", "SELECT array_length(array_agg(value)) FROM generate_series(1, 100000000)", ANY),
        ("range bomb", "SELECT count(*) FROM (SELECT unnest(range(1, 1000000000)) AS v)", ANY),
        ("recursive cte", "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
                          "SELECT count(*) FROM r", ANY),
        ("deep parentheses", "SELECT " + "(" * 5000 + "1" + ")" * 5000, ANY),
        ("nested subqueries (11 levels)", nested_subqueries(11), ANY),
        ("nested subqueries (300 levels)", nested_subqueries(300), ANY),
        ("deep case", nested_case(2000), ANY),
        ("long chain 1+1+… (10k terms)", "SELECT 1" + "+1" * 10000, ANY),
        ("long chain 1+1+… (30k terms, 60 KB)", "SELECT 1" + "+1" * 30000, ANY),
        ("long cast chain", "SELECT 1" + "::BIGINT" * 7000, ANY),
        ("union of 5000", "SELECT 1 AS x" + " UNION ALL SELECT 1" * 3000, ANY),
        ("invalid utf-8 escape", r"SELECT E'\xff\xfe\xfd' AS s", ANY),
        ("surrogate escape", r"SELECT U&'\D800' AS s", ANY),
        ("surrogate code point", "SELECT chr(55296) AS s", ANY),
        ("binary to utf8", "SELECT arrow_cast(X'FFFE', 'Utf8') AS s", ANY),
        ("NUL in text", "SELECT 'a\u0000b' AS s", ANY),
        ("long identifier", 'SELECT 1 AS "' + "i" * 60000 + '"', ANY),
        ("long table name", "SELECT * FROM " + "t" * 60000, ANY),
        ("regex on a long text", "SELECT regexp_like(repeat('a', 100000), '(a+)+$') AS m", ANY),
        # The embedded engine (SQLite): statements and functions that reach
        # files or code must be refused; its own bombs must stay bounded.
        ("attach a file", "ATTACH DATABASE '/etc/passwd' AS p", REFUSE),
        ("attach a new file", f"ATTACH DATABASE '{out}/new.db' AS n", REFUSE),
        ("vacuum into", f"VACUUM INTO '{out}/copy.db'", REFUSE),
        ("pragma write", "PRAGMA writable_schema = ON", REFUSE),
        ("pragma read", "PRAGMA database_list", REFUSE),
        ("pragma function", "SELECT * FROM pragma_database_list", ANY),
        ("schema table", "SELECT sql FROM mlcc_ci.sqlite_schema", ANY),
        ("load_extension", "SELECT load_extension('/lib/x86_64-linux-gnu/libc.so.6')", REFUSE),
        ("fts3_tokenizer", "SELECT fts3_tokenizer('simple')", REFUSE),
        ("zeroblob bomb", "SELECT length(zeroblob(2000000000)) AS n", ANY),
        ("printf bomb", "SELECT length(printf('%.*c', 2147483647, 'x')) AS n", ANY),
        ("group_concat bomb", f"{RANGE_200K} SELECT length(group_concat(hex(zeroblob(50000)), ',')) "
                              "AS n FROM r", ANY),
        ("distinct bomb", f"{RANGE_200K} SELECT count(DISTINCT hex(zeroblob(2000)) || n) AS n "
                          "FROM r", ANY),
        ("percentile bomb", "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
                            "SELECT median(n) FROM r", ANY),
        ("percentile fraction", "SELECT approx_percentile(1, 1e308) AS p", ANY),
        ("empty", "", REFUSE),
        ("not sql", "\u202e\ufeff;;;", REFUSE),
    ]


class SqlRun:
    """The phase's server (restarted if a query kills it) and report."""

    def __init__(self, box: Sandbox, report: PhaseReport, canary: str):
        self.box, self.report, self.canary = box, report, canary
        self.server = None

    async def start(self) -> None:
        self.server = await self.box.server(*SERVER_ARGS)

    async def one(self, name: str, sql: str, expect: str) -> None:
        report, before = self.report, len(self.report.failures)
        a = await self.server.call("query_results", {"sql": sql}, timeout=BOUND_S + 10)
        report.outcomes[a.kind] += 1
        repro = f"query_results {{sql: {sql[:120]!r}{'…' if len(sql) > 120 else ''}}} ({len(sql)} bytes)"
        if await self.server.survived(a):
            self.judge(name, a, expect, repro)
            await report.probe(self.server, name)
        else:
            report.fail(name, "the server survives", f"server died: {a.brief()}; "
                        f"its log: {tail(self.server.log_path)}", repro)
            await self.server.close()
            await self.start()
        if not await wait_until(lambda: not query_workers_of(self.box.home), 3):
            report.fail(name, "no query worker outlives its query",
                        f"alive: {query_workers_of(self.box.home)}", repro)
        report.count += 1
        report.account(name, before)
        log(f"  sql {name}: {a.kind} in {a.seconds:.2f}s")

    def judge(self, name: str, a, expect: str, repro: str) -> None:
        report = self.report
        shown = a.shown()
        mib = len(shown) / (1 << 20)
        bound = BOUND_S + CLIENT_S_PER_MIB * mib
        if not a.answered:
            report.fail(name, "rows or isError", a.brief(), repro)
        elif a.seconds > bound:
            report.fail(name, f"answered within {bound:.1f} s", a.brief(), repro)
        if mib > 1:
            report.observe(name, "large answer", f"{mib:.1f} MiB (text and structured content) "
                           f"in {a.seconds:.1f}s, truncated={a.data.get('truncated') if a.data else None}")
        if expect == REFUSE and a.kind == "result":
            report.fail(name, "refused", a.brief(), repro)
        if self.canary in shown or PASSWD_MARK in shown:
            report.fail(name, "nothing outside the home is read", a.brief(), repro)


def tail(path, lines: int = 2) -> str:
    text = path.read_text(errors="replace").strip().splitlines()
    return " / ".join(text[-lines:])


async def seed_history(server, report: PhaseReport) -> None:
    """Two completed simulated runs, so the table has rows."""
    for _ in range(2):
        args = {"workload": "sample", "endpoint": {"url": "sim"}, "force": True,
                "overrides": {"request_count": 10, "output_tokens": 8}}
        a = await server.call("start_benchmark", args)
        run_id = a.data["run_id"]
        for _ in range(10):
            s = await server.call("get_status", {"run_id": run_id, "wait_seconds": 5})
            if s.data["status"] == "completed":
                break
        else:
            report.notes.append(f"history seed run {run_id} did not complete")


async def history_rows(server) -> int | None:
    a = await server.call("query_results", {"sql": f"SELECT count(*) AS n FROM {TABLE}"})
    return a.data["rows"][0]["n"] if a.kind == "result" else None


def check_no_writes(box: Sandbox, report: PhaseReport) -> None:
    outside = sorted(p.name for p in box.outside.iterdir())
    if outside != ["canary.csv"]:
        report.fail("all inputs", "nothing outside the home is written", f"outside/: {outside}")
    work = sorted(p.name for p in box.work.iterdir())
    if work:
        report.fail("all inputs", "nothing written in the working directory", f"work/: {work}")


async def run(campaign) -> PhaseReport:
    report = PhaseReport("3. SQL abuse (query_results)", "inputs")
    async with Sandbox(campaign, "sql") as box:
        canary = f"canary-{secrets.token_hex(8)}"
        (box.outside / "canary.csv").write_text(f"a\n{canary}\n")
        run = SqlRun(box, report, canary)
        await run.start()
        await seed_history(run.server, report)
        rows_before = await history_rows(run.server)
        with RssSampler() as rss:
            rss.watch("server", run.server.pid)
            for name, sql, expect in corpus(box, canary):
                await run.one(name, sql, expect)
                rss.watch("server", run.server.pid)
        report.rss(rss)
        rows_after = await history_rows(run.server)
        if rows_before is None or rows_before != rows_after:
            report.fail("all inputs", "history intact", f"rows before {rows_before}, after {rows_after}")
        check_no_writes(box, report)
        if report.failures:
            box.keep = True
    return report
