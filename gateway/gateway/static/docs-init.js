// Swagger UI over the gateway's own OpenAPI document (served from the package: no CDN).
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
  });
});
