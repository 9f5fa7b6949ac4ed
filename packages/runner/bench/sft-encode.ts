// Time to prepare SFT data: load a tokenizer, read a chat JSONL file, render and encode every row
// (prompt and whole conversation, as for completion-only labels), in a fresh process. Prints one
// JSON line. Defaults: tiny-llama's tokenizer on ../shared/data/sst2-sft/train.jsonl (4,000 rows).
// usage: node --import tsx packages/runner/bench/sft-encode.ts [--tokenizer DIR] [--data FILE] [--all-tokens]
import { parseArgs } from 'node:util'
import { join } from 'node:path'
import { encodeSftRows, loadSftRows } from '../src/data/sft/index.ts'
import { loadCausalLmTokenizer } from '../src/tokenizer/index.ts'
import { sharedDir } from '../../../tests/support/shared.ts'

const { values: args } = parseArgs({
  options: { tokenizer: { type: 'string' }, data: { type: 'string' }, 'all-tokens': { type: 'boolean', default: false } },
})
const tokenizerDir = args.tokenizer ?? (sharedDir ? join(sharedDir, 'fixtures/tiny-llama') : undefined)
const dataFile = args.data ?? (sharedDir ? join(sharedDir, 'data/sst2-sft/train.jsonl') : undefined)
if (!tokenizerDir || !dataFile) {
  console.error('../shared not found: pass --tokenizer DIR and --data FILE')
  process.exit(2)
}
let t = performance.now()
const tok = loadCausalLmTokenizer(tokenizerDir)
const loadMs = performance.now() - t
t = performance.now()
const set = await loadSftRows({ path: dataFile })
const readMs = performance.now() - t
t = performance.now()
const { stats } = encodeSftRows(set.rows, tok, { completionOnlyLoss: !args['all-tokens'] })
const encodeMs = performance.now() - t
console.log(
  JSON.stringify({
    rows: stats.rows,
    tokens: stats.tokens,
    tokenizer_load_ms: Math.round(loadMs),
    read_ms: Math.round(readMs),
    encode_ms: Math.round(encodeMs),
    rows_per_s: Math.round(stats.rows / (encodeMs / 1000)),
    completion_only_loss: !args['all-tokens'],
  }),
)
