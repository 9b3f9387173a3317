"""The official Python MCP SDK as an independent client of `mcc-bench serve`:
list the tools (each with a title), then start -> status -> results (with a
resource_link to the report, read back as text/html) and the resource
templates, over stdio, streamable HTTP and the legacy HTTP+SSE transport. Prints 'N passed, N failed' and exits non-zero on failure."""

import asyncio
import os
import subprocess
import sys
import tempfile
import traceback

from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

BIN = os.path.abspath(sys.argv[1])
EXPECTED = {"list_workloads", "get_workload_profile", "start_benchmark", "get_status",
            "fetch_results", "list_benchmarks", "cancel_benchmark", "clean", "stage_model",
            "query_results", "compare_results", "find_capacity"}


async def exercise(client):
    tools = await client.list_tools()
    names = {t.name for t in tools.tools}
    assert names == EXPECTED, names
    listed = await client.call_tool("list_workloads", {})
    assert not listed.is_error
    assert len(listed.structured_content["workloads"]) == 7
    bad = await client.call_tool("get_workload_profile", {"workload": "nope"})
    assert bad.is_error
    started = await client.call_tool("start_benchmark", {
        "workload": "sample", "endpoint": {"url": "sim"},
        "overrides": {"request_count": 6, "output_tokens": 8}})
    assert not started.is_error, started
    run_id = started.structured_content["run_id"]
    status = None
    for _ in range(12):
        s = await client.call_tool("get_status", {"run_id": run_id, "wait_seconds": 5})
        status = s.structured_content["status"]
        if status not in ("queued", "running", "collecting"):
            break
    assert status == "completed", status
    results = await client.call_tool("fetch_results", {"run_id": run_id})
    level = results.structured_content["levels"][0]
    assert level["requests"] == 6, level
    assert level["ttft_ms"]["p50"] > 0
    # Titles, the report as a resource link, resource templates, MIME types.
    assert all(t.title for t in tools.tools), [t.name for t in tools.tools if not t.title]
    links = [c for c in results.content if c.type == "resource_link"]
    report = f"mcc-bench://runs/{run_id}/report.html"
    assert [str(l.uri) for l in links] == [report], results.content
    assert links[0].mime_type == "text/html", links[0]
    templates = await client.list_resource_templates()
    shapes = {(t.uri_template, t.mime_type) for t in templates.resource_templates}
    assert ("mcc-bench://runs/{run_id}/report.html", "text/html") in shapes, shapes
    assert ("mcc-bench://runs/{run_id}/status", "application/json") in shapes, shapes
    page = await client.read_resource(report)
    assert page.contents[0].mime_type == "text/html", page.contents[0]
    assert "<svg" in page.contents[0].text


async def over_stdio(home, mode="legacy"):
    params = StdioServerParameters(command=BIN, args=["serve"], env={**os.environ, "MCC_BENCH_HOME": home})
    async with Client(params, mode=mode, read_timeout_seconds=60) as client:
        await exercise(client)


async def over_http(home, mode="auto", legacy_sse=False):
    token = "py-client-token"
    server = subprocess.Popen([BIN, "serve", "--http", "127.0.0.1:0", "--auth-token", token],
                              stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                              env={**os.environ, "MCC_BENCH_HOME": home}, text=True)
    try:
        url = server.stderr.readline().strip().split(" ")[-1]
        assert url.startswith("http://127.0.0.1:"), url
        headers = {"Authorization": f"Bearer {token}"}
        if legacy_sse:
            target = sse_client(url.removesuffix("/mcp") + "/sse", headers=headers)
        else:
            target = streamable_http_client(url, http_client=create_mcp_http_client(headers=headers))
        async with Client(target, mode=mode, read_timeout_seconds=60) as client:
            await exercise(client)
    finally:
        server.terminate()
        server.wait(timeout=10)


def main():
    passed = failed = 0
    cases = [
        ("stdio, protocol 2025-11-25", over_stdio),
        ("stdio, protocol 2026-07-28", lambda home: over_stdio(home, "2026-07-28")),
        ("streamable http (negotiated)", over_http),
        ("streamable http, protocol 2026-07-28", lambda home: over_http(home, "2026-07-28")),
        ("legacy http+sse (protocol 2024-11-05 transport)", lambda home: over_http(home, "legacy", True)),
    ]
    for name, case in cases:
        with tempfile.TemporaryDirectory() as home:
            try:
                asyncio.run(case(home))
                passed += 1
                print(f"python mcp client over {name}: ok")
            except Exception:
                failed += 1
                print(f"python mcp client over {name}: FAILED")
                traceback.print_exc()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


main()
