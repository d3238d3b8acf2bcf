/**
 * The process environment. Its own module so the library (backends built without an injected
 * environment) reads it without loading the listeners.
 */
export function environment(): Record<string, string | undefined> {
  return process.env;
}
