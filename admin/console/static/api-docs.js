// Swagger UI on /docs (admin/api_docs.py): the page's Content-Security-Policy allows scripts
// from this origin only and no inline script, so its start-up lives here rather than in the
// page. The OpenAPI document's URL comes from the page (data-openapi-url).
(function () {
  "use strict";

  function start() {
    const root = document.getElementById("swagger-ui");
    if (!root || typeof window.SwaggerUIBundle !== "function") return;
    window.ui = window.SwaggerUIBundle({
      url: root.dataset.openapiUrl,
      dom_id: "#swagger-ui",
      // FastAPI's defaults: the plain layout (no top bar loading other documents).
      layout: "BaseLayout",
      deepLinking: true,
      showExtensions: true,
      showCommonExtensions: true,
      // No badge fetched from validator.swagger.io (another origin, refused by the CSP).
      validatorUrl: null,
      presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset],
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
