// The one error the programmatic API rejects with for bad input (an invalid pipeline or sweep
// file, a run folder that is not free, data that is not there): what `lorapipe` reports with
// exit 2, as a value. A run that fails is not an error: its outcome says `failed`.
import * as Data from 'effect/Data'
import type { Diagnostic } from '@lorapipe/core/diagnostics.ts'

export type { Diagnostic, Location } from '@lorapipe/core/diagnostics.ts'

export class InvalidInput extends Data.TaggedError('InvalidInput')<{
  /** The whole report, as the command prints it: every problem with file:line:column and its fix. */
  readonly message: string
  readonly hint?: string
  /** Each problem found, with where it is (empty for a refusal that is not about a file's contents). */
  readonly diagnostics: readonly Diagnostic[]
}> {}
