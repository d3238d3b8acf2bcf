export * from "./common.ts";
export * from "./worker.ts";
export * from "./run.ts";
export * from "./transcript.ts";
export * from "./event.ts";
export * from "./diagnostic.ts";
export * from "./interaction.ts";
export * from "./runtime.ts";
