// Loads a tokenizer from a model folder in Hugging Face layout: tokenizer.json when present
// (it is what the fast tokenizers in Python run), else vocab.txt + tokenizer_config.json converted
// to the equivalent tokenizer.json for a BERT WordPiece tokenizer.
import { existsSync } from 'node:fs'
import { FILE_KINDS, readUserText, UserFileError, type FileKind } from '@lorapipe/core/fs/user-file.ts'
import { join } from 'node:path'
import { bertTokenizerJson, parseVocabTxt } from './bert-json.ts'
import { TokenizerError } from './errors.ts'
import { tokenizerFolderProblem } from './folder.ts'
import { TextTokenizer, type TokenizerOptions } from './tokenizer.ts'

export function readText(file: string, kind: FileKind): string {
  try {
    return readUserText(file, kind)
  } catch (e) {
    throw new TokenizerError({ source: file, message: e instanceof UserFileError ? `${file}: ${e.reason}` : `${file}: cannot read: ${(e as Error).message}` })
  }
}

export function readJson(file: string, kind: FileKind = FILE_KINDS.config): Record<string, unknown> {
  const text = readText(file, kind)
  try {
    const v = JSON.parse(text)
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('expected a JSON object')
    return v
  } catch (e) {
    throw new TokenizerError({ source: file, message: `${file}: not valid JSON: ${(e as Error).message}` })
  }
}

/** Loads the tokenizer of the model folder `dir`. */
export function loadTokenizer(dir: string, options: TokenizerOptions = {}): TextTokenizer {
  const problem = tokenizerFolderProblem(dir)
  if (problem) throw new TokenizerError({ source: dir, message: problem })
  const jsonFile = join(dir, 'tokenizer.json')
  const configFile = join(dir, 'tokenizer_config.json')
  const vocabFile = join(dir, 'vocab.txt')
  const config = existsSync(configFile) ? readJson(configFile) : {}
  if (existsSync(jsonFile)) {
    return new TextTokenizer(readJson(jsonFile, FILE_KINDS.tokenizer), config, options, jsonFile)
  }
  if (existsSync(vocabFile)) {
    const vocab = parseVocabTxt(readText(vocabFile, FILE_KINDS.tokenizer))
    const json = bertTokenizerJson(vocab, config, vocabFile)
    return new TextTokenizer(json, config, options, vocabFile)
  }
  throw new TokenizerError({ source: dir, message: tokenizerFolderProblem(dir) ?? `${dir}: no tokenizer found` })
}
