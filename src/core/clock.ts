/** The timestamp every record and event carries (RFC 3339, UTC). */
export const now = (): string => new Date().toISOString();
