from tests.support import LiveServer


async def test_ready_and_ping(server: LiveServer) -> None:
    """connection.ready carries protocol 1 and the project; ping answers pong with reply_to."""
    c = await server.connect()
    assert c.ready["protocol"] == 1 and c.ready["project"] == "default"
    reply = await c.request({"type": "ping", "id": "p1"})
    assert reply["type"] == "pong" and reply["reply_to"] == "p1" and reply["server_time"].endswith("Z")
