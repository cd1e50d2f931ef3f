"""A TLS WebSocket endpoint in front of a plain MQTT broker, standing in for
AWS IoT Core's `wss://<endpoint>/mqtt`: each WebSocket carries one MQTT
connection to the broker, binary frames both ways (the "mqtt" subprotocol,
as IoT Core's MQTT over WebSocket requires). Each request's path and query
are appended to a log so a test can check how the client signed it.

usage: ws_bridge.py PORT CERT KEY BROKER_PORT LOG
"""

import asyncio
import ssl
import sys

import websockets


async def bridge(ws, broker_port, log):
    with open(log, "a") as out:
        out.write(ws.request.path + "\n")
    reader, writer = await asyncio.open_connection("127.0.0.1", broker_port)

    async def to_broker():
        async for frame in ws:
            writer.write(frame if isinstance(frame, bytes) else frame.encode())
            await writer.drain()
        writer.close()

    async def to_client():
        while data := await reader.read(65536):
            await ws.send(data)
        await ws.close()

    await asyncio.gather(to_broker(), to_client(), return_exceptions=True)


async def main():
    port, cert, key, broker_port, log = sys.argv[1:6]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    async with websockets.serve(
        lambda ws: bridge(ws, int(broker_port), log),
        "127.0.0.1",
        int(port),
        ssl=context,
        subprotocols=["mqtt"],
    ):
        await asyncio.Future()


asyncio.run(main())
