// The one registry of built-in stages: every stage core validates has one entry here (its spec,
// its body, its preflight check), and nothing of a body is loaded before the stage runs.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { builtinSpec, builtinSpecs } from '@lorapipe/core/stage/builtins.ts'
import { builtinStages, stageBodies } from '../../src/stages/registry.ts'

const tfLoaded = () => (globalThis as { _tfengine?: unknown })._tfengine !== undefined

describe('the registry of built-in stages', () => {
  it('has one entry for each stage core validates, holding the very spec core validates it with', () => {
    assert.deepEqual([...builtinStages.keys()].sort(), builtinSpecs.map((s) => s.name).sort())
    for (const [name, stage] of builtinStages) assert.equal(stage.spec, builtinSpec(name), `${name}: the registry's spec is not core's`)
  })

  it('hands the executor one body per stage, by its name', () => {
    const bodies = stageBodies(builtinStages)
    assert.deepEqual([...bodies.keys()].sort(), [...builtinStages.keys()].sort())
    for (const [name, run] of bodies) assert.equal(run, builtinStages.get(name)!.run)
  })

  it('says which stages start a backend (and so have runtime.* checked): finetune, evaluate and export', () => {
    assert.deepEqual([...builtinStages].filter(([, s]) => s.startsBackend).map(([n]) => n).sort(), ['evaluate', 'export', 'finetune'])
  })

  it('loads no TensorFlow.js with the registry and the preflight; a stage body does', async () => {
    await import('../../src/preflight/pipeline.ts')
    assert.equal(tfLoaded(), false, 'TensorFlow.js was loaded with the registry or the preflight')
    await import('../../src/stages/finetune.ts')
    assert.equal(tfLoaded(), true, 'the check cannot see TensorFlow.js load')
  })
})
