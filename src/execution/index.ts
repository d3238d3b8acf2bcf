import type { BackendDefinition } from "./backend.ts";
import { echoBackend } from "./echo.ts";

export * from "./backend.ts";
export { echoBackend } from "./echo.ts";

/** Every backend kind this package ships, for `Runtime.open({ backends })`. */
export const builtinBackends: readonly BackendDefinition<any>[] = [echoBackend];
