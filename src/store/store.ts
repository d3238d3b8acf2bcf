/** The store port is owned by the core; this path stays so store implementations keep one short import. */
export type * from "../core/ports/store.ts";
