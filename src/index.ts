/**
 * yoi-runtime as a library: the Runtime core, its stores and execution backends.
 * Nothing here loads the HTTP server; that lives in `yoi-runtime/server`.
 */
export { Runtime } from "./core/runtime.ts";
export type { RuntimeOptions, RuntimeLogger, WorkerAddress, ListWorkersQuery, TranscriptQuery, ListRunsQuery, IdempotencyOption, WriteOptions } from "./core/runtime.ts";
export { RuntimeError, ERROR_CODES, isRuntimeError, type ErrorCode } from "./core/errors.ts";
export { EventSubscription, SubscriptionOverflowError, type SubscribeOptions } from "./core/subscription.ts";
export { isValidId, ID_PATTERN } from "./core/ids.ts";
export type { Readiness, ReadinessCause, StoreHealth } from "./core/readiness.ts";
export { isRunEnded } from "./core/run-ended.ts";
export type { ProfileConfig } from "./core/profiles.ts";
export * from "./core/schema/index.ts";
export type { RuntimeStore, StoreCommit, StoreSnapshot, StoredWorker } from "./core/ports/store.ts";
export type { WorkspaceProvider, WorkspaceRequest } from "./core/ports/workspaces.ts";
export { openGitWorkspaces, GitWorkspaces, type WorkspaceSettings, type GitWorkspacesOptions } from "./execution/workspaces/git-workspaces.ts";
export { MemoryStore } from "./store/memory-store.ts";
export { FsStore, type FsStoreOptions, type CommitStats } from "./store/fs-store.ts";
export { NODE_STORE_FS, type StoreFs } from "./store/fs/store-fs.ts";
export * from "./execution/index.ts";
export { VERSION } from "./version.ts";
