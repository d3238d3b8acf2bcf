import { ROUTE_SCOPES, type RouteScope } from "./scopes.ts";

/**
 * Writes each operation's `security` from the route→scope table: no requirement for the public
 * routes, else the static token (`bearerAuth`, full access) or a signed token carrying the
 * route's scope (`signedToken: [scope]`). The scope table stays the only place that says it.
 */
export function applyRouteSecurity(document: Record<string, unknown>): void {
  const paths = document.paths as Record<string, Record<string, Record<string, unknown>>>;
  const table = ROUTE_SCOPES as Record<string, RouteScope>;
  for (const [path, operations] of Object.entries(paths)) {
    const template = path.replace(/\{([A-Za-z0-9_]+)\}/g, ":$1");
    for (const [method, operation] of Object.entries(operations)) {
      const key = `${method.toUpperCase()} ${template}`;
      if (!(key in table)) throw new Error(`route ${key} has no entry in ROUTE_SCOPES (src/server/scopes.ts)`);
      const scope = table[key]!;
      operation.security = scope === null ? [] : [{ bearerAuth: [] }, { signedToken: [scope] }];
    }
  }
  const components = document.components as { securitySchemes: Record<string, unknown> };
  components.securitySchemes = {
    bearerAuth: { type: "http", scheme: "bearer", description: "The runtime's static token: full access" },
    signedToken: {
      type: "http",
      scheme: "bearer",
      bearerFormat: "JWT",
      description:
        "A JWT signed by the Backend (EdDSA or ES256), aud = runtime id, with the operation's scope in its " +
        "space-separated `scope` claim; an optional `worker_ids` claim limits it to those workers. See docs/auth.md.",
    },
  };
}
