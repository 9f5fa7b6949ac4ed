// The published sweep schema and the README's sweep reference are generated from the schema the
// loader uses (`npm run gen`); they must match it, and editors must accept the shipped sweeps.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { root, SWEEP_END, SWEEP_START, sweepSchemaJson } from '../../../../../scripts/gen-schema.ts'
import { sweepReference } from '../../../src/sweep/file/reference.ts'

const sweeps = ['pipelines/sst2-sweep.yaml', 'tests/fixtures/sweeps/tiny-grid.yaml', 'tests/fixtures/sweeps/bow-grid.yaml', 'tests/fixtures/sweeps/bow-random.yaml']

describe('generated sweep schema and reference', () => {
  test('schemas/sweep.schema.json is the schema the loader uses (run `npm run gen` if not)', () => {
    assert.equal(readFileSync(join(root, 'schemas', 'sweep.schema.json'), 'utf8'), sweepSchemaJson())
  })

  test('the sweep reference in README.md is generated from the schema (run `npm run gen` if not)', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    const a = readme.indexOf(SWEEP_START)
    const b = readme.indexOf(SWEEP_END)
    assert.ok(a >= 0 && b > a, 'README.md has the sweep reference markers')
    assert.equal(readme.slice(a + SWEEP_START.length + 1, b), sweepReference())
  })

  test('the published schema is valid JSON Schema 2020-12, accepts the shipped sweeps and rejects a typo', async () => {
    const { default: Ajv2020 } = await import('ajv/dist/2020.js')
    const ajv = new (Ajv2020 as any)({ strict: false })
    const validate = ajv.compile(JSON.parse(readFileSync(join(root, 'schemas', 'sweep.schema.json'), 'utf8')))
    for (const f of sweeps) {
      const text = readFileSync(join(root, f), 'utf8')
      assert.match(text.split('\n')[0]!, /^# yaml-language-server: \$schema=(\.\.\/)+schemas\/sweep\.schema\.json$/, `${f} names its schema for editors`)
      assert.equal(validate(parse(text)), true, `${f}: ${JSON.stringify(validate.errors)}`)
    }
    assert.equal(validate({ base: 'b.yaml', method: 'grid', metric: { name: 'eval_loss' }, parameters: { 'lora.r': { vaules: [1] } } }), false)
  })
})
