// Starts Swagger UI on /docs (served from /static/swagger-ui; no inline script, so the page's
// Content-Security-Policy can keep script-src 'self').
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
  });
});
