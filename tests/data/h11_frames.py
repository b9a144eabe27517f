"""How h11 (a well-kept HTTP/1.1 parser) frames raw requests: the oracle of the receiver's
differential test. Reads a JSON list of base64 request streams on stdin; prints, for each, the
complete requests h11 read (method, target, version, headers as sent, body) up to the first
error, and that error. Each stream is read as one connection that the client then half-closes,
with an empty 200 answer after each request so that pipelined requests are read too."""
import base64, json, sys

import h11

MAX_HEAD = int(sys.argv[1]) if len(sys.argv) > 1 else 65536


def frames(data):
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
    conn.receive_data(data)
    conn.receive_data(b"")
    requests, current, error = [], None, None
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as e:
            error = str(e) or type(e).__name__
            break
        if event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
            break
        if event is h11.PAUSED:
            try:
                conn.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
                conn.send(h11.EndOfMessage())
                conn.start_next_cycle()
            except h11.LocalProtocolError:
                break
            continue
        if isinstance(event, h11.Request):
            current = {
                "method": event.method.decode("latin-1"),
                "target": event.target.decode("latin-1"),
                "version": "HTTP/" + event.http_version.decode(),
                "headers": [[n.decode("latin-1"), v.decode("latin-1")]
                            for n, v in event.headers.raw_items()],
                "body": b"",
            }
        elif isinstance(event, h11.Data):
            current["body"] += event.data
        elif isinstance(event, h11.EndOfMessage):
            current["body"] = base64.b64encode(current["body"]).decode()
            requests.append(current)
            current = None
    return {"requests": requests, "error": error}


cases = json.load(sys.stdin)
print(json.dumps([frames(base64.b64decode(case)) for case in cases]))
