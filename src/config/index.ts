/** The process configuration of SPEC §11: schema, layered loading, token, bind rule, rendering. */
export { ConfigError, CONFIG_EXIT_CODE } from "./errors.ts";
export { ConfigLayer, LOG_LEVELS, LOG_FORMATS, STORE_KINDS, DURABILITIES, type LogLevel, type LogFormat, type StoreKind, type Durability } from "./schema.ts";
export { parseBind, isLoopback, formatHostPort, type BindAddress } from "./bind.ts";
export { checkLayer, type KeyNamer } from "./check-layer.ts";
export { loadConfig, readConfigFile, mergeLayer, DEFAULT_STORE_KIND, type LoadConfigOptions } from "./load.ts";
export { resolveToken } from "./token.ts";
export { renderConfig, REDACTED } from "./render.ts";
export { checkBindPolicy } from "./bind-policy.ts";
export { CONFIG_ENV, DEFAULT_BIND, DEFAULT_STORE_ROOT, LOCAL_CONFIG_FILE, type ResolvedConfig } from "./resolved.ts";
