"""A minimal keep-alive HTTP/1.1 upstream for benches/server-load: answers every request with
the same JSON body, as fast as one Python process can, so the load measures the MCP server.

usage: static-upstream.py PORT JSON_BODY
"""
import asyncio
import sys


class Upstream(asyncio.Protocol):
    def __init__(self, response: bytes) -> None:
        self.response = response
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            length = 0
            for line in head.split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length:]
            self.transport.write(self.response)


async def main() -> None:
    port, body = int(sys.argv[1]), sys.argv[2].encode()
    response = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                + str(len(body)).encode() + b"\r\n\r\n" + body)
    server = await asyncio.get_running_loop().create_server(lambda: Upstream(response), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


asyncio.run(main())
