// Tagged error for everything that goes wrong while loading or running a tokenizer.
import * as Data from 'effect/Data'

export class TokenizerError extends Data.TaggedError('TokenizerError')<{
  /** The folder or file involved (or '<memory>' for a tokenizer built from objects). */
  readonly source: string
  /** Readable explanation: what, where, and the fix. */
  readonly message: string
}> {}
