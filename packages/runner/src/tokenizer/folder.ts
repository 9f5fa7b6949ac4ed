// Whether a folder holds a tokenizer the loader takes (tokenizer.json, or a BERT vocab.txt), told
// without reading it: the loader says it when it loads one, and the preflight, which must stay
// fast, before anything is written.
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'

const EXPECTED = 'tokenizer.json, or vocab.txt (with tokenizer_config.json) for a BERT-style WordPiece tokenizer'

/** Why `dir` is not a tokenizer folder, or undefined. */
export function tokenizerFolderProblem(dir: string): string | undefined {
  let isDir: boolean
  try {
    isDir = statSync(dir).isDirectory()
  } catch {
    return `${dir}: no such folder; a tokenizer is a folder with ${EXPECTED}`
  }
  if (!isDir) return `${dir} is a file, not a folder; a tokenizer is a folder with ${EXPECTED}`
  if (!existsSync(join(dir, 'tokenizer.json')) && !existsSync(join(dir, 'vocab.txt'))) return `${dir}: no tokenizer found; expected ${EXPECTED}`
  return undefined
}
