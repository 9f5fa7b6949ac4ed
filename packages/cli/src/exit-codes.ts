// Exit codes, as documented in the README.
export const EXIT = {
  ok: 0,
  /** The run (or a command's work) failed. */
  failed: 1,
  /** Bad input: invalid pipeline, unknown command or option, missing file. */
  badInput: 2,
  /** Stopped by Ctrl-C (128 + SIGINT). */
  interrupted: 130,
} as const
