import { listenFailure, urlOf, type FetchHandler, type ListenOptions, type Listener } from "./listener.ts";

/** The part of Deno's API this adapter uses (the project typechecks against Bun's types only). */
interface DenoHttpServer {
  addr: { hostname: string; port: number };
  finished: Promise<void>;
  shutdown(): Promise<void>;
}
interface DenoServe {
  serve(
    options: { hostname: string; port: number; onListen?: (addr: unknown) => void },
    handler: (request: Request) => Response | Promise<Response>,
  ): DenoHttpServer;
}

export function denoGlobal(): DenoServe {
  return (globalThis as unknown as { Deno: DenoServe }).Deno;
}

/** `Deno.serve(app.fetch)`: Deno's server has no idle timeout, so long-lived requests need nothing. */
export async function listenDeno(fetch: FetchHandler, options: ListenOptions): Promise<Listener> {
  let server: DenoHttpServer;
  try {
    server = denoGlobal().serve(
      // onListen replaces Deno's own "Listening on …" line: the CLI logs the address itself.
      { hostname: options.hostname, port: options.port, onListen: () => {} },
      (request) => fetch(request),
    );
  } catch (error) {
    throw listenFailure(options.hostname, options.port, error);
  }
  const port = server.addr.port;
  let stopping: Promise<void> | null = null;
  return {
    url: urlOf(options.hostname, port),
    hostname: options.hostname,
    port,
    stop: (force = false) => {
      stopping ??= server.shutdown();
      // Deno has no way to cut in-flight responses; a forced stop stops waiting for them (the
      // process exits right after).
      return force ? Promise.resolve() : stopping;
    },
  };
}
