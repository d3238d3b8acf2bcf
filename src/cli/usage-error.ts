/**
 * A command line the CLI refuses: an unknown command or flag, a missing or malformed argument.
 * `main` prints it once with the command's usage line and exits 2 (as for a refused configuration).
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
