"""Local stand-ins for the start-up benchmark (bench/startup.py), standard library only.

RuntimeApi     the Lambda Runtime API (2018-06-01) on 127.0.0.1: timestamps the process's
               first GET /runtime/invocation/next (ready) and holds that request until the
               harness has read the process's memory; then hands out the run's event, if it
               has one, and timestamps that moment and the response (or error) POST.
CloudWatchCbor DescribeAlarms over Smithy RPCv2 CBOR (what the Rust SDK speaks to CloudWatch,
               and moto cannot answer), and over awsJson 1.0 and awsQuery (what botocore may
               pick): every call gets the same page (the benchmark's alarms, state OK).

All timestamps are time.perf_counter_ns() in the harness process, the same clock the harness
reads just before it starts the function's process.
"""

import json
import struct
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Invocation:
    """One process's life under the Runtime API: its event and what happened when."""

    def __init__(self, event):
        # None: a start-up-only run; the first poll is held until the harness ends the run.
        self.event = None if event is None else json.dumps(event).encode()
        self.request_id = str(uuid.uuid4())
        self.ready_ns = None
        self.handed_ns = None
        self.done_ns = None
        self.response = None
        self.error = None
        self.init_error = None
        self.ready = threading.Event()
        self.go = threading.Event()
        self.finished = threading.Event()
        self.idle = threading.Event()
        self.release = threading.Event()


class _RuntimeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the body waits for a delayed ACK.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def _reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        inv = self.server.current
        if not self.path.endswith("/runtime/invocation/next") or inv is None:
            self._reply(404)
            return
        if inv.ready_ns is None:
            inv.ready_ns = time.perf_counter_ns()
            inv.ready.set()
            # Held while the harness reads the process's memory at ready, for good if the run
            # has no event.
            inv.go.wait(60)
            if inv.event is None or inv.release.is_set():
                inv.release.wait(30)
                self.close_connection = True
                return
            deadline = int(time.time() * 1000) + 60_000
            headers = {
                "Content-Type": "application/json",
                "Lambda-Runtime-Aws-Request-Id": inv.request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline),
                "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:bench",
                "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
            }
            inv.handed_ns = time.perf_counter_ns()
            self._reply(200, inv.event, headers)
            return
        # The second poll: the process is idle again. Hold it until the harness stops it.
        inv.idle.set()
        inv.release.wait(30)
        self.close_connection = True

    def do_POST(self):
        inv = self.server.current
        body = self._body()
        now = time.perf_counter_ns()
        if inv is None:
            self._reply(404)
            return
        if self.path.endswith("/runtime/init/error"):
            inv.init_error = body.decode(errors="replace")
            inv.finished.set()
        elif self.path.endswith("/response"):
            inv.done_ns = now
            inv.response = body
            inv.finished.set()
        elif self.path.endswith("/error"):
            inv.done_ns = now
            inv.error = body.decode(errors="replace")
            inv.finished.set()
        self._reply(202, b'{"status":"OK"}', {"Content-Type": "application/json"})


class RuntimeApi:
    """The Runtime API on 127.0.0.1:<free port>; `begin(event)` before starting each process."""

    def __init__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _RuntimeHandler)
        self.server.daemon_threads = True
        # Processes are stopped while they poll for the next event; that reset is expected.
        self.server.handle_error = lambda request, address: None
        self.server.current = None
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def begin(self, event):
        inv = Invocation(event)
        self.server.current = inv
        return inv

    def end(self, inv):
        inv.release.set()
        inv.go.set()
        self.server.current = None

    def close(self):
        self.server.shutdown()


# --- CloudWatch, RPCv2 CBOR -------------------------------------------------------------------


def _head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    if n < 0x100:
        return bytes([major << 5 | 24, n])
    if n < 0x10000:
        return bytes([major << 5 | 25]) + struct.pack(">H", n)
    return bytes([major << 5 | 26]) + struct.pack(">I", n)


def cbor(value):
    """The CBOR subset a DescribeAlarms answer needs: maps, arrays, text, ints, floats."""
    if isinstance(value, str):
        b = value.encode()
        return _head(3, len(b)) + b
    if isinstance(value, bool):
        return bytes([0xF5 if value else 0xF4])
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, float):
        return b"\xfb" + struct.pack(">d", value)
    if isinstance(value, list):
        return _head(4, len(value)) + b"".join(cbor(v) for v in value)
    if isinstance(value, dict):
        return _head(5, len(value)) + b"".join(cbor(k) + cbor(v) for k, v in value.items())
    raise TypeError(type(value))


class _CloudWatchHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def _send(self, status, content_type, body, extra=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        request = self.rfile.read(n) if n else b""
        alarms = [
            {
                "AlarmName": name,
                "AlarmArn": f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}",
                "StateValue": "OK",
                "StateReason": "benchmark",
            }
            for name in self.server.alarm_names
        ]
        page = {"MetricAlarms": alarms, "CompositeAlarms": []}
        target = self.headers.get("X-Amz-Target", "")
        if self.path.endswith("/operation/DescribeAlarms"):  # RPCv2 CBOR
            self._send(200, "application/cbor", cbor(page), {"smithy-protocol": "rpc-v2-cbor"})
        elif target.endswith(".DescribeAlarms"):  # awsJson 1.0
            self._send(200, "application/x-amz-json-1.0", json.dumps(page).encode())
        elif b"Action=DescribeAlarms" in request:  # awsQuery
            members = "".join(
                f"<member><AlarmName>{a['AlarmName']}</AlarmName><AlarmArn>{a['AlarmArn']}</AlarmArn>"
                f"<StateValue>OK</StateValue></member>"
                for a in alarms
            )
            xml = (
                '<DescribeAlarmsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">'
                f"<DescribeAlarmsResult><MetricAlarms>{members}</MetricAlarms><CompositeAlarms/>"
                "</DescribeAlarmsResult></DescribeAlarmsResponse>"
            )
            self._send(200, "text/xml", xml.encode())
        else:
            self._send(400, "application/json", json.dumps({"__type": "InvalidAction"}).encode())


class CloudWatchCbor:
    """DescribeAlarms on 127.0.0.1:<free port>, answering `alarm_names` in state OK."""

    def __init__(self, alarm_names):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _CloudWatchHandler)
        self.server.daemon_threads = True
        self.server.alarm_names = list(alarm_names)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
