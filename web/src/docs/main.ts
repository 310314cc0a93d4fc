// The API explorer at /docs: Swagger UI 5 over the gateway's own /openapi.json.
//
// Swagger UI 5 rather than Scalar: it reads OpenAPI 3.1, its "Try it out" and Authorize dialog
// are mature, and it runs under the gateway's strict CSP (no eval, no inline script, no
// stylesheet injected at run time), all from this bundle: nothing is fetched from elsewhere.
import "swagger-ui-dist/swagger-ui.css";
import SwaggerUIBundle from "swagger-ui-dist/swagger-ui-bundle.js";
import { csrfToken } from "../api";

const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);

// The browser's session cookie goes along (same origin); a cookie-authenticated write also
// needs the session's CSRF token as a header, as the dashboard sends it.
function withSession(request: SwaggerRequest): SwaggerRequest {
  request.credentials = "same-origin";
  const token = csrfToken();
  // The document's own fetch names no method: a GET.
  if (token && WRITES.has((request.method ?? "GET").toUpperCase())) {
    request.headers["X-CSRF-Token"] = token;
  }
  return request;
}

SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#explorer",
  deepLinking: true,
  persistAuthorization: true,
  withCredentials: true,
  tryItOutEnabled: true,
  displayRequestDuration: true,
  validatorUrl: null, // the default badge asks validator.swagger.io: no calls elsewhere
  presets: [SwaggerUIBundle.presets.apis],
  requestInterceptor: withSession,
});
