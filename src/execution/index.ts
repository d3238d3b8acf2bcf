import type { BackendDefinition } from "../core/ports/backend.ts";
import { acpBackend } from "./acp/index.ts";
import { commandBackend } from "./command.ts";
import { echoBackend } from "./echo.ts";
import { openaiBackend } from "./openai.ts";

export * from "../core/ports/backend.ts";
export { echoBackend } from "./echo.ts";
export { commandBackend, CommandSettings } from "./command.ts";
export { openaiBackend, OpenAiSettings } from "./openai.ts";
export { acpBackend, AcpSettings } from "./acp/index.ts";

/** Every backend kind this package ships, for `Runtime.open({ backends })`. */
export const builtinBackends: readonly BackendDefinition<any>[] = [echoBackend, commandBackend, openaiBackend, acpBackend];
