// Names on the Hugging Face hub, as the `model` and `dataset` sections write them.
import { PATTERN_WORDS } from '../../schema/json-schema.ts'

// A revision names a file under the cache's refs/ (and branches such as refs/convert/parquet have
// slashes): path segments without `.`, `..`, backslashes or control characters, as the hub client
// checks at run time. Caught here so a bad one is bad input before anything runs.
export const SEGMENT = String.raw`[^/\\\u0000-\u001f\u007f]+`

export const revision = {
  type: 'string',
  pattern: String.raw`^(?!.*\.lock$)(?!(?:.*/)?\.\.?(?:/|$))${SEGMENT}(?:/${SEGMENT})*$`,
  [PATTERN_WORDS]: 'a branch, tag or commit: names separated by `/`, none of them `.` or `..`',
} as const

export const repoId = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$',
  description: 'Hugging Face hub repository id, `name` or `org/name`.',
} as const
