"""The gateway: the only HTTP surface for people and integrations.

Every /api/v1 request goes through one entrypoint into `gateway.api.Api` (authentication, limits, validation,
RPCs with the actor in context, problem documents); routes are declared in `gateway.routes`.
"""
import json

from werkzeug.wrappers import Response

from chassis import Database, RpcClient, Service, event_handler, timer
from chassis.access import ORG_EVENT_BATCH, ORG_EVENT_TYPES, OrgSync, apply_org_events
from gateway import docs, idempotency, ratelimit
from gateway.api import PREFIX, ApiProvider
from gateway.describe import describe
from gateway.openapi import build_spec
from gateway.routes import build_routes
from gateway.server import api_entrypoint, http, probe
from gateway.web import WebApp

API_USES = ("api", "rpc", "store")  # what handle_api reads of the service (gateway.server.ApiEntrypoint)
_CACHED_ASSET = {"Cache-Control": "public, max-age=86400"}


class GatewayService(WebApp, Service):  # WebApp: the web app at /
    name = "gateway"
    rpc = RpcClient()
    store = Database(relay=False)  # Idempotency-Keys and the org read model; the gateway publishes no events
    org_sync = OrgSync()  # the read model catches up with the directory it did not see in events
    api = ApiProvider(build_routes, lambda routes: json.dumps(describe(build_spec(routes, docs.OPERATIONAL_PATHS),
                                                                        routes)))

    @api_entrypoint(PREFIX, uses=API_USES)
    @api_entrypoint(PREFIX + "/<anypath:path>", uses=API_USES)
    def handle_api(self, request, request_id):
        return self.api.handle(request, self.rpc, self.store, request_id)

    # the chassis's probes, on the gateway's server (a container has one listening socket)
    @probe("GET", "/metrics")
    def prometheus_metrics(self, request):
        return Service.prometheus_metrics(self, request)

    @probe("GET", "/health/live")
    def health_live(self, request):
        return Service.health_live(self, request)

    @probe("GET", "/health/ready")
    def health_ready(self, request):
        return Service.health_ready(self, request)

    @http("GET", "/api/openapi.json")
    def openapi(self, request):
        return Response(self.api.openapi_json, mimetype="application/json")

    @http("GET", "/api/asyncapi.yaml")
    def asyncapi(self, request):
        """The events (AsyncAPI 3.0), beside the OpenAPI document: no authentication, like it."""
        return Response(docs.asyncapi_document(), mimetype=docs.ASYNCAPI_MEDIA)

    @http("GET", "/api/docs")
    def swagger_ui(self, request):
        return Response(docs.read(docs.PAGE), mimetype="text/html")

    @http("GET", "/api/docs/<asset>")
    def swagger_asset(self, request, asset):
        found = docs.ASSETS.get(asset)
        if found is None:
            return Response("no such asset", status=404, mimetype="text/plain")
        path, media = found
        return Response(docs.read(path), mimetype=media, headers=_CACHED_ASSET)

    @event_handler("compliance", ORG_EVENT_TYPES, batch_size=ORG_EVENT_BATCH)  # one transaction a batch
    def on_org_event(self, events):
        with self.store as uow:
            apply_org_events(uow.session, uow.fresh(events))

    @timer(interval=3600)
    def purge_idempotency_keys(self):
        idempotency.purge_expired(self.store)
        ratelimit.purge(self.store.store.engine)  # buckets full again for an hour are the same as none
