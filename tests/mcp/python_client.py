"""The Python MCP SDK (mcp 1.30.0) as a client of examples/mcp_server, over stdio and HTTP.

Usage: python python_client.py EXAMPLE_BINARY HTTP_URL
Prints one line per check; exits non-zero on the first failure.
"""

import asyncio
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamablehttp_client


async def check(session: ClientSession, transport: str) -> None:
    init = await session.initialize()
    assert init.serverInfo.name == "blazen-example", init.serverInfo
    tools = (await session.list_tools()).tools
    names = [t.name for t in tools]
    assert names == ["forecast", "divide"], names
    forecast = tools[0]
    assert forecast.inputSchema["required"] == ["city"], forecast.inputSchema
    result = await session.call_tool("forecast", {"city": "Paris"})
    assert not result.isError, result
    assert result.structuredContent == {
        "city": "Paris",
        "temperature": 15.0,
        "conditions": "clear",
    }, result.structuredContent
    failed = await session.call_tool("divide", {"a": 1, "b": 0})
    assert failed.isError, failed
    assert failed.content[0].text == "cannot divide by zero", failed.content
    ok = await session.call_tool("divide", {"a": 5, "b": 2})
    assert ok.content[0].text == "2.5", ok.content
    print(f"python mcp client over {transport}: ok")


async def main(example: str, url: str) -> None:
    async with stdio_client(StdioServerParameters(command=example)) as (read, write):
        async with ClientSession(read, write) as session:
            await check(session, "stdio")
    async with streamablehttp_client(url) as (read, write, _):
        async with ClientSession(read, write) as session:
            await check(session, "streamable HTTP")


asyncio.run(main(sys.argv[1], sys.argv[2]))
