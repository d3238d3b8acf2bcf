import { defineCommand } from "citty";
import { Runtime } from "../core/runtime.ts";
import { builtinBackends } from "../execution/index.ts";
import { write } from "../platform/index.ts";
import { createApp, openApiDocument } from "../server/app.ts";
import { MemoryStore } from "../store/memory-store.ts";
import { VERSION } from "../version.ts";

export const openapiCommand = defineCommand({
  meta: { name: "openapi", description: "Print the OpenAPI 3.1 document of the HTTP API (JSON)" },
  args: {},
  run: async () => {
    await write("stdout", `${JSON.stringify(await openApiJson(), null, 2)}\n`);
  },
});

/**
 * The document is generated from the app's routes, which exist only over a Runtime; a throwaway
 * in-memory one is enough, since routes do not depend on the configuration.
 */
export async function openApiJson(): Promise<Record<string, unknown>> {
  const runtime = await Runtime.open({ store: new MemoryStore(), backends: builtinBackends, runtime_id: "openapi", version: VERSION });
  try {
    return openApiDocument(createApp(runtime));
  } finally {
    await runtime.close();
  }
}
