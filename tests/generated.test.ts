// Files derived from the schema are committed; they must match what the schema generates now.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { readmeWithReference, root, schemaJson } from '../scripts/gen-schema.ts'

test('schemas/pipeline.schema.json is the schema the validator uses (run `npm run gen` if not)', () => {
  assert.equal(readFileSync(join(root, 'schemas', 'pipeline.schema.json'), 'utf8'), schemaJson())
})

test('the pipeline reference in README.md is generated from the schema (run `npm run gen` if not)', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  assert.equal(readme, readmeWithReference(readme))
})

test('the published schema is valid JSON Schema 2020-12 and accepts the seed pipelines', async () => {
  const { default: Ajv2020 } = await import('ajv/dist/2020.js')
  const { parse } = await import('yaml')
  const ajv = new (Ajv2020 as any)({ strict: false })
  const validate = ajv.compile(JSON.parse(readFileSync(join(root, 'schemas', 'pipeline.schema.json'), 'utf8')))
  for (const f of ['sst2-lora.yaml', 'sst2-full-finetune.yaml', 'sst2-lora-vs-full.yaml']) {
    const doc = parse(readFileSync(join(root, 'pipelines', f), 'utf8'))
    assert.equal(validate(doc), true, `${f}: ${JSON.stringify(validate.errors)}`)
  }
  assert.equal(validate({ name: 'x', trainer: { learning_rte: 1 } }), false)
})
