// Custom stages beside a user's own pipeline, in a folder of their own outside the checkout: no
// package.json, no node_modules, no build step. A stage imports `lorapipe` (or `@lorapipe/core`)
// and `effect`, and lorapipe supplies both from its own installation, in TypeScript or JavaScript.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lorapipe } from './support/cli.ts'

/** A folder in the system's temporary directory holding `files` (name -> text). */
function userFolder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'lorapipe-user-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

// TypeScript, an Effect Schema for its parameters, a helper module named the TypeScript way
// (`./words.js` for words.ts), an Effect-returning run.
const countStage = `
import * as Effect from 'effect/Effect'
import * as Schema from 'effect/Schema'
import { defineStage, writeJsonAtomic, type StageContext } from 'lorapipe'
import { countWords } from './words.js'

interface Params { readonly text: string; readonly repeat: number }

export default defineStage<Params>({
  name: 'count-words',
  params: Schema.Struct({ text: Schema.String, repeat: Schema.Int.pipe(Schema.positive()) }),
  outputs: ['counts'],
  run: (p: Params, ctx: StageContext) =>
    Effect.sync(() => {
      const counts = join(ctx.dir, 'counts.json')
      writeJsonAtomic(counts, countWords(p.text.repeat(p.repeat)))
      return { counts }
    }),
})
import { join } from 'node:path'
`
const wordsModule = `
export function countWords(text: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const w of text.split(/\\s+/).filter(Boolean)) out[w] = (out[w] ?? 0) + 1
  return out
}
`
// JavaScript (an ES module in a folder with no package.json), the \`@lorapipe/core\` name, a JSON
// Schema, a Promise-returning run that reads the TypeScript stage's output.
const topStage = `
import { readFile } from 'node:fs/promises'
import * as Effect from 'effect/Effect'
import { defineStage, writeFileAtomic } from '@lorapipe/core'

export default defineStage({
  name: 'top-word',
  params: { type: 'object', required: ['counts'], additionalProperties: false, properties: { counts: { type: 'string' } } },
  outputs: ['top'],
  run: async (p, ctx) => {
    const counts = JSON.parse(await readFile(p.counts, 'utf8'))
    const [word, n] = Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]
    const top = ctx.dir + '/top.txt'
    writeFileAtomic(top, word + ' ' + n + '\\n')
    // effect resolves from lorapipe's installation here too
    return Effect.runSync(Effect.succeed({ top }))
  },
})
`
const pipeline = `name: anywhere
stages:
  count:
    uses: ./count.ts
    with: { text: "a rose is a rose is a rose ", repeat: 2 }
  top:
    uses: ./top.mjs
    with:
      counts: \${stages.count.outputs.counts}
  again:
    uses: ./top.js
    with:
      counts: \${stages.count.outputs.counts}
  once_more:
    uses: ./top.mts
    with:
      counts: \${stages.count.outputs.counts}
`

describe('custom stages in a folder of their own', () => {
  test('a .ts stage importing lorapipe and effect, and .mjs/.js/.mts stages importing @lorapipe/core, validate and run', () => {
    const dir = userFolder({ 'count.ts': countStage, 'words.ts': wordsModule, 'top.mjs': topStage, 'top.js': topStage, 'top.mts': topStage, 'pipeline.yaml': pipeline })
    assert.equal(existsSync(join(dir, 'package.json')), false)
    // A copy of effect in the user's folder is not the one lorapipe runs stages with: never loaded.
    mkdirSync(join(dir, 'node_modules', 'effect'), { recursive: true })
    writeFileSync(join(dir, 'node_modules', 'effect', 'package.json'), JSON.stringify({ name: 'effect', type: 'module', exports: { '.': './decoy.js', './*': './decoy.js' } }))
    writeFileSync(join(dir, 'node_modules', 'effect', 'decoy.js'), "throw new Error('the user folder copy of effect was loaded')\n")
    const v = lorapipe(['validate', 'pipeline.yaml'], { cwd: dir })
    assert.equal(v.code, 0, v.stderr)
    assert.match(v.stdout, /pipeline\.yaml is valid: pipeline `anywhere`, 4 stages \(count: \.\/count\.ts, top: \.\/top\.mjs, again: \.\/top\.js, once_more: \.\/top\.mts\)/)

    const r = lorapipe(['run', 'pipeline.yaml', '--out', 'run', '-q'], { cwd: dir })
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'run', 'count', 'counts.json'), 'utf8')), { a: 6, rose: 6, is: 4 })
    assert.equal(readFileSync(join(dir, 'run', 'top', 'top.txt'), 'utf8'), 'a 6\n')
    assert.equal(readFileSync(join(dir, 'run', 'again', 'top.txt'), 'utf8'), 'a 6\n')
    assert.equal(readFileSync(join(dir, 'run', 'once_more', 'top.txt'), 'utf8'), 'a 6\n')
  })

  test("an Effect Schema stage's parameters are checked before anything runs", () => {
    const dir = userFolder({ 'count.ts': countStage, 'words.ts': wordsModule, 'p.yaml': 'name: bad\nstages:\n  count:\n    uses: ./count.ts\n    with: { text: hello, repeat: 0 }\n' })
    const r = lorapipe(['run', 'p.yaml', '--out', 'run'], { cwd: dir })
    assert.equal(r.code, 2)
    assert.match(r.stderr, /p\.yaml:5:\d+: error: `stages\.count\.with\.repeat` must be > 0, not 0/)
    assert.equal(existsSync(join(dir, 'run')), false)
  })

  test('a stage that does not compile, or imports what is not there, is bad input that names the file and the place', () => {
    const dir = userFolder({
      'broken.ts': "import { defineStage } from 'lorapipe'\nexport default defineStage({ name: 'x', params: {}, run: async () => { return { } } )\n",
      'needs.ts': "import leftPad from 'left-pad'\nexport default leftPad\n",
      'plain.js': 'export const answer = 42\n',
      'p.yaml': 'name: bad\nstages:\n  a:\n    uses: ./broken.ts\n  b:\n    uses: ./needs.ts\n  c:\n    uses: ./plain.js\n',
    })
    const r = lorapipe(['validate', 'p.yaml'], { cwd: dir })
    assert.equal(r.code, 2)
    assert.match(r.stderr, /p\.yaml:4:11: error: cannot load stage module \.\/broken\.ts: .*broken\.ts:2:\d+: Expected "}" but found "\)"/)
    assert.match(r.stderr, /p\.yaml:6:11: error: cannot load stage module \.\/needs\.ts: Cannot find package 'left-pad'/)
    assert.match(r.stderr, /p\.yaml:8:11: error: \.\/plain\.js does not export a stage/)
    assert.match(r.stderr, /import \{ defineStage \} from 'lorapipe'/)
    assert.doesNotMatch(r.stderr, /\n\s+at /) // no stack trace
  })

  test("a stage's Effect.log lines are lorapipe's log lines: its tag, warnings and errors on stderr, debug with --verbose, in events.jsonl; no logfmt", () => {
    const loud = `
import * as Effect from 'effect/Effect'
import { defineStage } from 'lorapipe'
export default defineStage({
  name: 'loud',
  params: {},
  run: () => Effect.gen(function* () {
    yield* Effect.log('reading', 3, 'files')
    yield* Effect.logWarning('one file is empty').pipe(Effect.annotateLogs('file', 'b.txt'))
    yield* Effect.logDebug('cache hit')
    yield* Effect.logError('could not parse c.txt', { line: 2 })
    return {}
  }),
})
`
    const dir = userFolder({ 'loud.ts': loud, 'p.yaml': 'name: loud\nstages:\n  talk:\n    uses: ./loud.ts\n' })
    const r = lorapipe(['run', 'p.yaml', '--out', 'run'], { cwd: dir })
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout + r.stderr, /\[talk\] reading 3 files\n/)
    assert.match(r.stderr, /\[talk\] warn: one file is empty file=b\.txt\n/)
    assert.match(r.stderr, /\[talk\] error: could not parse c\.txt \{"line":2\}\n/)
    assert.doesNotMatch(r.stdout + r.stderr, /cache hit|timestamp=|fiber=/)
    const v = lorapipe(['run', 'p.yaml', '--out', 'run2', '--verbose'], { cwd: dir })
    assert.match(v.stdout + v.stderr, /\[talk\] cache hit\n/)
    const logs = readFileSync(join(dir, 'run', 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e._tag === 'Log' && e.stage === 'talk')
    assert.deepEqual(logs.map((e) => [e.level, e.message]), [['info', 'reading 3 files'], ['warn', 'one file is empty file=b.txt'], ['debug', 'cache hit'], ['error', 'could not parse c.txt {"line":2}']])
  })
})
