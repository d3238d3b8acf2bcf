/**
 * Whether the runtime can take work now (SPEC §10 `GET /readyz`), as opposed to merely being
 * alive (`/healthz`). Not ready while it opens or closes, and while its store reports that it
 * cannot write; `cause` says which, for an operator or a load balancer's log.
 */
export type Readiness = { ready: true } | { ready: false; cause: ReadinessCause };

/** `opening`/`closing`/`closed` from the runtime's lifecycle; anything else is the store's own cause (e.g. `disk_full`). */
export type ReadinessCause = "opening" | "closing" | "closed" | (string & {});

/** What a store may report about its ability to write (optional on the store port). */
export interface StoreHealth {
  writable: boolean;
  /** Why not, e.g. `disk_full`, `io_error`. */
  cause?: string;
}

export const READY: Readiness = Object.freeze({ ready: true });
export const notReady = (cause: ReadinessCause): Readiness => ({ ready: false, cause });
