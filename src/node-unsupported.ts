/**
 * What `yoi-runtime` and `yoi-runtime/server` load under Node (the `node` condition of
 * package.json `exports`): the core and the HTTP server run on Bun and Deno only, and saying so
 * at import beats a failure deep inside the first call. `yoi-runtime/client` works everywhere.
 */
throw new Error(
  `yoi-runtime: the core ("yoi-runtime") and the server ("yoi-runtime/server") run under Bun or Deno, not Node.js ${process.versions.node}; ` +
    `from Node, import "yoi-runtime/client" to talk to a runtime started with \`npx yoi-runtime\`.`,
);

export {};
