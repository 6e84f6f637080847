"""The reference the gateway is judged by (issue 16): a stock nameko `@http` gateway, no chassis, doing the same
fan-outs to an echo service. Run as two `nameko run` processes by gateway_bench.py:

    GET /ping   no RPC: a small JSON answer
    GET /one    one RPC to the echo service, its answer as JSON
    GET /fan/N  N RPCs to the echo service in parallel (call_async), their answers as one JSON document

Nothing here is tuned: it is the stock way to write a nameko HTTP gateway."""
from __future__ import annotations

import json

from nameko.rpc import RpcProxy, rpc
from nameko.web.handlers import http
from werkzeug.wrappers import Response

# what an echo answers: about the size of a section of the dashboard (a board total)
SAMPLE = {"key": None, "name": None, "count": 60, "green": 40, "yellow": 0, "red": 20,
          "weighted_progress": "0.6333", "average_confidence": None}


class StockEcho:
    name = "stock_echo"

    @rpc
    def echo(self, payload):
        return {"echo": payload, "sample": SAMPLE}


class StockGateway:
    name = "stock_gateway"
    echo = RpcProxy("stock_echo")

    @http("GET", "/ping")
    def ping(self, request):
        return Response(json.dumps({"pong": True}), mimetype="application/json")

    @http("GET", "/one")
    def one(self, request):
        return Response(json.dumps(self.echo.echo({"path": request.path})), mimetype="application/json")

    @http("GET", "/fan/<int:calls>")
    def fan(self, request, calls):
        pending = [self.echo.echo.call_async({"section": n}) for n in range(calls)]
        return Response(json.dumps([call.result() for call in pending]), mimetype="application/json")
