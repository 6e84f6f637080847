"""The gateway: the only HTTP surface for people and integrations."""
import json

from nameko.web.handlers import http
from werkzeug.wrappers import Response

from chassis import RpcClient, Service


class GatewayService(Service):
    name = "gateway"
    rpc = RpcClient()

    @http("GET", "/api/v1")
    def api_index(self, request):
        return Response(json.dumps({"name": "jixiao", "version": "v1"}), mimetype="application/json")
