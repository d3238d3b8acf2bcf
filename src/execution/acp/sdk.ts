export type AcpSdk = typeof import("@agentclientprotocol/sdk");

let loading: Promise<AcpSdk> | null = null;

/**
 * The ACP SDK (and the zod schemas it validates with), loaded with the first agent: a runtime or
 * library user without ACP workers does not pay for it at start-up.
 */
export function loadAcpSdk(): Promise<AcpSdk> {
  return (loading ??= import("@agentclientprotocol/sdk"));
}
