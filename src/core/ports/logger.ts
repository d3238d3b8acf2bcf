/** What the core and the layers below it log through; the CLI adapts consola to it. */
export interface RuntimeLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** The logger of embedders that pass none. */
export const SILENT_LOGGER: RuntimeLogger = { debug() {}, info() {}, warn() {}, error() {} };
