let lastMs = Number.NaN;
let lastText = "";

/**
 * The timestamp every record and event carries (RFC 3339, UTC). A run writes several within the
 * same millisecond; the text is made once per millisecond.
 */
export const now = (): string => {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastText = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastText;
};
