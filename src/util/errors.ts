/**
 * An error meant for the user: its message is one line that names the file, row or field
 * and says what to do. The CLI prints it without a stack trace and exits non-zero.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "UserError";
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}
