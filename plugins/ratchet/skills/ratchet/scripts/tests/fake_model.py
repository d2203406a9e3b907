"""A scripted stand-in for the Anthropic Messages API, for end-to-end tests.

Start it, point the real `claude` CLI at it with
ANTHROPIC_BASE_URL=<fake.base_url>, and it plays a script: every request of
the main conversation is answered by the next "turn".

A turn is a function `turn(body) -> reply`. `body` is the JSON request the CLI
sent (so a turn can read the skill path out of the first user message, or the
tool results of the previous turn). `reply` is a string (one text block), a
block dict made by `text()` / `tool_use()` / `bash()`, or a list of those. A
reply with a tool_use block ends with stop_reason "tool_use", otherwise
"end_turn".

The script is either a list of turns (turn i answers the request whose
conversation holds i assistant messages, so it does not depend on how many
side requests the CLI sends) or one callable that sees every main request.

Subagents: pass `agents={name: (marker, turns)}`. A request sent by a
subagent (it carries the header `x-claude-code-agent-id`) is played by the
turns of the one agent whose marker, a line of its agent file, is in the
request's system prompt (turn i answers the request holding i assistant
messages of that subagent's own conversation); it is recorded with kind
"agent:<name>". A subagent request that matches no marker is an error.

Side requests (title generation, quota checks, ...: anything without a Bash
tool (`main_tool`), or sent by a subagent when no `agents` are given) get a short text
reply and are not part of the script. Everything is recorded in `requests`;
anything that went wrong is in `errors`, each with a summary of the request
that caused it.
"""

import itertools
import json
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_ids = itertools.count(1)


def text(s):
    return {"type": "text", "text": s}


def tool_use(name, **tool_input):
    return {"type": "tool_use", "id": "toolu_fake%04d" % next(_ids),
            "name": name, "input": tool_input}


def bash(command, description="run a command"):
    return tool_use("Bash", command=command, description=description)


# ---- reading a request -------------------------------------------------------

def blocks(message):
    """The content blocks of a message (a plain string becomes one text block)."""
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return content or []


def block_text(block):
    """The text of a text block or of a tool_result block."""
    if block.get("type") == "text":
        return block.get("text", "")
    if block.get("type") == "tool_result":
        content = block.get("content")
        if isinstance(content, str):
            return content
        return "\n".join(b.get("text", "") for b in content or [] if isinstance(b, dict))
    return ""


def all_text(body):
    """Every text and tool_result text of the conversation, in order."""
    return "\n".join(block_text(b) for m in body.get("messages", []) for b in blocks(m))


def tool_results(body):
    """(text, is_error) of each tool_result in the last user message.

    The CLI may append `role: "system"` messages after it, so skip those."""
    users = [m for m in body.get("messages", []) if m.get("role") == "user"] or [{}]
    return [(block_text(b), bool(b.get("is_error")))
            for b in blocks(users[-1]) if b.get("type") == "tool_result"]


def last_result(body):
    """Text of the only tool_result of the last message; raises if it is an error."""
    results = tool_results(body)
    if len(results) != 1:
        raise AssertionError("expected one tool_result, got %d" % len(results))
    result, is_error = results[0]
    if is_error:
        raise AssertionError("tool_result is an error: %s" % result[:2000])
    return result


def last_json(body):
    """The JSON object printed by the last tool call (the last line that parses)."""
    result = last_result(body)
    for line in reversed(result.strip().splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    try:
        return json.loads(result)
    except ValueError:
        raise AssertionError("no JSON object in tool_result: %s" % result[:2000])


def system_text(body):
    """The system prompt of a request (a string or a list of text blocks)."""
    system = body.get("system")
    if isinstance(system, str):
        return system
    return "\n".join(b.get("text", "") for b in system or [] if isinstance(b, dict))


def tool_names(body):
    return [t.get("name") for t in body.get("tools") or []]


def is_main_request(headers, body, tool="Bash"):
    """A main-conversation turn: has the `tool` tool (Bash; `Edit` for an agent
    run without Bash, as ratchet.py loop's) and is not from a subagent."""
    return tool in tool_names(body) and not headers.get("x-claude-code-agent-id")


def summarize(request, width=1500):
    """A short, readable picture of a recorded request, for failure messages."""
    body = request["body"]
    lines = ["%s %s (%s, %d messages, tools: %s)" % (
        request["method"], request["path"], request["kind"],
        len(body.get("messages", [])), ",".join(tool_names(body)[:12]))]
    for m in body.get("messages", [])[-4:]:
        if m.get("role") == "system":
            lines.append("  [system] (%d chars)" % len(all_text({"messages": [m]})))
            continue
        for b in blocks(m):
            kind = b.get("type")
            if kind == "tool_use":
                detail = json.dumps(b.get("input"))
            elif kind == "tool_result":
                detail = ("ERROR " if b.get("is_error") else "") + block_text(b)
            else:
                detail = block_text(b)
            detail = " ".join(detail.split())
            if len(detail) > width:
                detail = detail[:width // 2] + " ... " + detail[-width // 2:]
            lines.append("  [%s/%s] %s" % (m.get("role"), kind, detail))
    return "\n".join(lines)


# ---- the server ---------------------------------------------------------------

def _sse(reply, model):
    """Server-sent events for one assistant message."""
    if isinstance(reply, (str, dict)):
        reply = [reply]
    reply = [text(b) if isinstance(b, str) else b for b in reply]
    events = [("message_start", {"type": "message_start", "message": {
        "id": "msg_fake%04d" % next(_ids), "type": "message", "role": "assistant",
        "model": model, "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 1}}})]
    for i, b in enumerate(reply):
        if b["type"] == "text":
            start, delta = dict(b, text=""), {"type": "text_delta", "text": b["text"]}
        else:
            start = dict(b, input={})
            delta = {"type": "input_json_delta", "partial_json": json.dumps(b["input"])}
        events += [
            ("content_block_start", {"type": "content_block_start", "index": i, "content_block": start}),
            ("content_block_delta", {"type": "content_block_delta", "index": i, "delta": delta}),
            ("content_block_stop", {"type": "content_block_stop", "index": i}),
        ]
    stop = "tool_use" if any(b["type"] == "tool_use" for b in reply) else "end_turn"
    events += [
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                           "usage": {"output_tokens": 10}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return "".join("event: %s\ndata: %s\n\n" % (name, json.dumps(data)) for name, data in events)


class FakeModel:
    """with FakeModel(turns) as fake: ... env ANTHROPIC_BASE_URL=fake.base_url ..."""

    def __init__(self, script, side_reply="OK", agents=None, main_tool="Bash"):
        self.script = script
        self.main_tool = main_tool
        self.agents = agents or {}   # name -> (marker, turns)
        self.side_reply = side_reply
        self.requests = []   # {"method", "path", "headers", "body", "kind"}
        self.errors = []     # strings, each naming the request that failed
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._record(self, {})
                self._send(404, "application/json", json.dumps({"error": "not found"}))

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"unparsed": raw.decode("utf-8", "replace")}
                request = fake._record(self, body)
                if self.path.split("?")[0] == "/v1/messages/count_tokens":
                    self._send(200, "application/json", json.dumps({"input_tokens": 100}))
                elif self.path.split("?")[0] != "/v1/messages":
                    fake._error(request, "unexpected path")
                    self._send(404, "application/json", json.dumps({"error": "not found"}))
                else:
                    reply = fake._reply(request)
                    self._send(200, "text/event-stream", _sse(reply, body.get("model", "fake-model")))

            def _send(self, status, content_type, payload):
                data = payload.encode("utf-8")
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    @property
    def main_requests(self):
        return [r for r in self.requests if r["kind"] == "main"]

    def agent_requests(self, name):
        return [r for r in self.requests if r["kind"] == "agent:" + name]

    def _kind(self, headers, body):
        if is_main_request(headers, body, self.main_tool):
            return "main"
        if self.agents and headers.get("x-claude-code-agent-id"):
            system = system_text(body)
            names = [n for n, (marker, _) in self.agents.items() if marker in system]
            return "agent:" + names[0] if len(names) == 1 else "agent:?"
        return "side"

    def _record(self, handler, body):
        headers = {k.lower(): v for k, v in handler.headers.items()}
        kind = self._kind(headers, body)
        request = {"method": handler.command, "path": handler.path, "headers": headers,
                   "body": body, "kind": kind}
        with self._lock:
            self.requests.append(request)
        return request

    def _error(self, request, message):
        with self._lock:
            self.errors.append("%s\nrequest: %s" % (message, summarize(request)))

    def _reply(self, request):
        kind, body = request["kind"], request["body"]
        if kind == "main":
            script = self.script
        elif kind.startswith("agent:"):
            name = kind[len("agent:"):]
            if name not in self.agents:
                self._error(request, "a subagent request whose system prompt holds no agent's marker "
                            "(or several): %s\nsystem prompt: %s" % (
                                ", ".join(self.agents), system_text(body)[:1500]))
                return "fake model: unknown subagent, stopping."
            script = self.agents[name][1]
        else:
            return self.side_reply
        try:
            if callable(script):
                return script(body)
            step = sum(1 for m in body.get("messages", []) if m.get("role") == "assistant")
            if step >= len(script):
                raise AssertionError("%s script has only %d turns; asked for turn %d" % (kind, len(script), step))
            return script[step](body)
        except Exception as exc:  # reported through self.errors; the CLI gets a plain answer
            detail = traceback.format_exc(limit=3) if not isinstance(exc, AssertionError) else str(exc)
            self._error(request, "scripted turn failed: %s" % detail)
            return "fake model: scripted turn failed, stopping."

    def report(self):
        """Every request in order, summarized: paste this into a failure message."""
        return "\n".join("#%d %s" % (i, summarize(r, 300)) for i, r in enumerate(self.requests))
