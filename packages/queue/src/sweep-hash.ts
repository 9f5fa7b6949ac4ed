// A sweep's hash, as jobs and the registry carry it: the sha256 of the bytes of its folder's
// sweep.json (written once when the sweep starts, so it covers whatever that file records). A
// worker runs a job only when the job, the registry and the file it reads agree on it.
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { SWEEP_START_FILE } from '@lorapipe/core/sweep/folder/layout.ts'
import { FILE_KINDS, readUserFile } from '@lorapipe/core/fs/user-file.ts'

/** sha256 (hex) of `dir`/sweep.json; throws UserFileError when it cannot be read. */
export function sweepHashOf(dir: string): string {
  return createHash('sha256').update(readUserFile(join(dir, SWEEP_START_FILE), FILE_KINDS.config)).digest('hex')
}
