import { OptionalKind, type TSchema } from "@sinclair/typebox";

/** What the generator reads from each Elysia route: its method, path and schema hooks. */
export interface RouteDeclaration {
  method: string;
  path: string;
  hooks?: {
    params?: unknown;
    query?: unknown;
    headers?: unknown;
    body?: unknown;
    response?: unknown;
    detail?: unknown;
  };
}

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);

/** Keys that exist on schemas only for this server's runtime, not for the document. */
const PRIVATE_KEYS = new Set(["noValidate"]);

/**
 * Builds the OpenAPI 3.1 document from the routes' own TypeBox schemas, so the document cannot
 * drift from what the server validates. Schemas with a `$id` become `components.schemas` entries
 * referenced by `$ref`; a route's `detail` supplies its summary, operationId and tags; each error
 * status the route declares is documented with the `Error` schema. Media types: request bodies
 * are `application/json` (the only type accepted); a response schema may name another with
 * `contentMediaType` (the event stream's `text/event-stream`). `canonical` schemas are registered
 * as components first, so a per-use copy (an error status's description) does not become the
 * component.
 */
export function buildOpenApiDocument(
  routes: readonly RouteDeclaration[],
  info: OpenApiInfo,
  canonical: readonly TSchema[] = [],
  declaredOpen: ReadonlySet<object> = new Set(),
): Json {
  const components: Record<string, Json> = {};
  const toJson = (schema: unknown): Json => hoist(schema, components, declaredOpen) as Json;
  for (const schema of canonical) toJson(schema);
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    const method = route.method.toLowerCase();
    if (method === "head" || method === "options") continue;
    const hooks = route.hooks ?? {};
    const detail = isObject(hooks.detail) ? hooks.detail : {};
    if (detail.hide === true) continue;
    const operation: Json = { ...detail };
    const parameters: Json[] = [];
    for (const [location, schema] of [
      ["path", hooks.params],
      ["query", hooks.query],
      ["header", hooks.headers],
    ] as const) {
      if (!isObject(schema) || !isObject(schema.properties)) continue;
      const required = Array.isArray(schema.required) ? schema.required : [];
      for (const [name, property] of Object.entries(schema.properties)) {
        const json = toJson(property);
        const { description, ...rest } = json;
        const parameter: Json = { name, in: location, required: location === "path" || required.includes(name), schema: rest };
        if (typeof description === "string") parameter.description = description;
        parameters.push(parameter);
      }
    }
    // Parameters Elysia does not validate (a header read by the handler) come from `detail`.
    if (Array.isArray(detail.parameters)) parameters.push(...(detail.parameters as Json[]));
    if (parameters.length > 0) operation.parameters = parameters;
    if (isObject(hooks.body)) {
      const body = hooks.body as TSchema;
      const { description, ...schema } = toJson(body);
      operation.requestBody = {
        required: !(OptionalKind in body),
        ...(typeof description === "string" ? { description } : {}),
        content: { "application/json": { schema } },
      };
    }
    const responses: Json = {};
    if (isObject(hooks.response)) {
      for (const [status, raw] of Object.entries(hooks.response)) {
        if (!isObject(raw)) continue;
        const description = typeof raw.description === "string" ? raw.description : "Success";
        const mediaType = typeof raw.contentMediaType === "string" ? raw.contentMediaType : "application/json";
        const { description: _, ...schema } = toJson(raw);
        responses[status] = { description, content: { [mediaType]: { schema } } };
      }
    }
    operation.responses = responses;
    const path = route.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
    (paths[path] ??= {})[method] = operation;
  }
  return {
    openapi: "3.1.0",
    info,
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: { bearerAuth: { type: "http", scheme: "bearer" } },
    },
  };
}

/**
 * A plain-JSON copy of a TypeBox schema (symbols and private keys dropped) in which every schema
 * with a `$id` is replaced by a `$ref` to its component, registered on first sight (so register
 * canonical versions first). Unions of string constants become `enum`s, which mean the same and
 * which tools render better.
 */
function hoist(value: unknown, components: Record<string, Json>, declaredOpen: ReadonlySet<object>): unknown {
  if (Array.isArray(value)) return value.map((item) => hoist(item, components, declaredOpen));
  if (!isObject(value)) return value;
  if (typeof value.$id === "string") {
    const name = value.$id;
    if (!(name in components)) {
      components[name] = {};
      const { $id: _id, ...rest } = value;
      components[name] = hoist(declaredOpen.has(value) ? withoutAdditional(rest) : rest, components, declaredOpen) as Json;
    }
    return { $ref: `#/components/schemas/${name}` };
  }
  const anyOf = value.anyOf;
  if (Array.isArray(anyOf) && anyOf.length > 0 && anyOf.every((item) => isObject(item) && typeof item.const === "string")) {
    const out: Json = { type: "string", enum: anyOf.map((item) => (item as Json).const) };
    if (typeof value.description === "string") out.description = value.description;
    return out;
  }
  const out: Json = {};
  const added = declaredOpen.has(value);
  for (const [key, child] of Object.entries(value)) {
    if (PRIVATE_KEYS.has(key) || (added && key === "additionalProperties")) continue;
    out[key] = hoist(child, components, declaredOpen);
  }
  return out;
}

function withoutAdditional(schema: Json): Json {
  const { additionalProperties: _, ...rest } = schema;
  return rest;
}

/**
 * The object schemas of the routes that declare no `additionalProperties`. Elysia sets
 * `additionalProperties: false` on such schemas, in place, when it compiles a route's validators
 * on the route's first request; the document is built on its own first request, so it leaves
 * out what Elysia added to these and stays the same whichever routes were called before. A walk
 * over references (no copy), cheap enough to run when the app is built.
 */
export function declaredOpenObjects(routes: readonly RouteDeclaration[]): Set<object> {
  const open = new Set<object>();
  const seen = new Set<object>();
  const visit = (value: unknown): void => {
    if (typeof value !== "object" || value === null || seen.has(value)) return;
    seen.add(value);
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    const schema = value as Json;
    if (schema.type === "object" && !("additionalProperties" in schema)) open.add(schema);
    for (const key in schema) visit(schema[key]);
  };
  for (const route of routes) {
    const hooks = route.hooks;
    if (!hooks) continue;
    visit(hooks.params);
    visit(hooks.query);
    visit(hooks.headers);
    visit(hooks.body);
    visit(hooks.response);
  }
  return open;
}
