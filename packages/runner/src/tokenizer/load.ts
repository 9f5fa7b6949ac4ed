// Loads a tokenizer from a model folder in Hugging Face layout: tokenizer.json when present
// (it is what the fast tokenizers in Python run), else vocab.txt + tokenizer_config.json converted
// to the equivalent tokenizer.json for a BERT WordPiece tokenizer.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { bertTokenizerJson, parseVocabTxt } from './bert-json.ts'
import { TokenizerError } from './errors.ts'
import { tokenizerFolderProblem } from './folder.ts'
import { TextTokenizer, type TokenizerOptions } from './tokenizer.ts'

function readJson(file: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new TokenizerError({ source: file, message: `${file}: cannot read: ${(e as Error).message}` })
  }
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
    return new TextTokenizer(readJson(jsonFile), config, options, jsonFile)
  }
  if (existsSync(vocabFile)) {
    const vocab = parseVocabTxt(readFileSync(vocabFile, 'utf8'))
    const json = bertTokenizerJson(vocab, config, vocabFile)
    return new TextTokenizer(json, config, options, vocabFile)
  }
  throw new TokenizerError({ source: dir, message: tokenizerFolderProblem(dir) ?? `${dir}: no tokenizer found` })
}
