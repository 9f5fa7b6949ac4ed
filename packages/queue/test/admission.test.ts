// What a worker serves and runs (admission.ts), on real sweep folders: a sweep only inside
// the --allow folders with every file and stage module it uses there (checked before any module is
// imported), a job only when its values are the sweep file's and the ones its coordinator recorded,
// and a run folder only inside the sweep folder. The trial is built by the worker, never taken
// from the job.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, existsSync, mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as Effect from 'effect/Effect'
import * as Either from 'effect/Either'
import { loadSweep } from '@lorapipe/core/sweep/file/load.ts'
import { openRecord } from '@lorapipe/core/sweep/coordinator/record.ts'
import { RECORD_FILE } from '@lorapipe/core/sweep/folder/layout.ts'
import { trialPipeline } from '@lorapipe/core/sweep/trial.ts'
import type { SearchSpace } from '@lorapipe/core/sweep/model.ts'
import { fileHash, startSweepFolder, type SweepStart } from '@lorapipe/core/sweep/folder/files.ts'
import { admitJob, admitSweep, assignmentProblem, isRefusal, SweepLoader } from '../src/admission.ts'
import { AllowedFolders } from '../src/allowed.ts'
import { queueNameOf, sweepIdOf, type SweepEntry } from '../src/registry.ts'
import { sweepHashOf } from '../src/sweep-hash.ts'
import { bowProject } from '../../../tests/support/queue.ts'

const LR = 'stages.train.with.learning_rate'
const root = realpathSync(mkdtempSync(join(tmpdir(), 'lorapipe-admission-')))
const outside = realpathSync(mkdtempSync(join(tmpdir(), 'lorapipe-admission-outside-')))
const base = bowProject(root)
const sweepFileOf = (dir: string, baseRef: string, file = 'grid.yaml') => {
  const f = join(dir, file)
  writeFileSync(f, `name: grid\nbase: ${baseRef}\nmethod: grid\nmetric: {name: eval_accuracy, goal: maximize}\nparameters:\n  ${LR}: {values: [0.05, 0.5]}\n  stages.train.with.epochs: {value: 1}\n`)
  return f
}
const sweepFile = sweepFileOf(join(root, 'project'), base)
const allowed = AllowedFolders.of([root])
const sweep = await Effect.runPromise(loadSweep(sweepFile))
const a = (lr: number) => ({ [LR]: lr, 'stages.train.with.epochs': 1 })

/** A sweep folder as `lorapipe sweep` starts it, its record holding `assigned` entries for these trials. */
function sweepFolder(dir: string, assigned: Record<number, Record<string, unknown>>, start: Partial<SweepStart> = {}): SweepEntry {
  mkdirSync(dir, { recursive: true })
  startSweepFolder(dir, sweep, { sweep: sweep.name, file: sweepFile, sha256: fileHash(sweepFile), sets: [], cwd: root, concurrency: 1, startedAt: new Date().toISOString(), ...start })
  const rec = openRecord(join(dir, RECORD_FILE))
  for (const [trial, assignment] of Object.entries(assigned)) rec.append({ type: 'assigned', time: new Date().toISOString(), trial: Number(trial), assignment, runDir: join(dir, 'trials', trial.padStart(4, '0')) })
  rec.close()
  return entryFor(dir)
}
const entryFor = (dir: string, name = 'grid'): SweepEntry => {
  const id = sweepIdOf(name, dir)
  return { id, queue: queueNameOf(id), name, dir, status: 'running', startedAt: new Date().toISOString(), heartbeat: Date.now(), sweepHash: sweepHashOf(dir) }
}
const job = (e: SweepEntry, trial: number, assignment: Record<string, unknown>, more: Record<string, unknown> = {}) => ({ id: `${e.id}-${trial}`, data: { v: 1, sweep: e.id, trial, assignment, sweepHash: e.sweepHash, resume: false, ...more } })
const refusal = (r: object) => (isRefusal(r) ? r.refused : `admitted: ${JSON.stringify(r)}`)

describe('admitJob: the trial a worker runs', () => {
  it('builds the trial itself from the sweep folder: the base pipeline, the sweep\'s --set values, a run folder in trials/ of the real sweep folder', async () => {
    const dir = join(root, 'ok')
    const e = sweepFolder(dir, { 0: a(0.05), 1: a(0.5) })
    const r = await admitJob(job(e, 1, a(0.5)), e, allowed, new SweepLoader())
    assert.ok(!isRefusal(r), refusal(r))
    const { pipeline, ...spec } = r.spec
    assert.deepEqual(spec, { sweep: 'grid', trial: 1, assignment: a(0.5), sets: [], runDir: join(dir, 'trials', '0001'), resume: true })
    const built = Either.getOrThrow(pipeline)
    assert.equal(built.file, base)
    assert.deepEqual(built.resolved, (await Effect.runPromise(trialPipeline(sweep, a(0.5)))).resolved)
    assert.equal(r.cwd, root)
  })

  it('refuses values other than those the coordinator recorded for the trial, a trial it never assigned, and another sweep hash', async () => {
    const e = sweepFolder(join(root, 'record'), { 0: a(0.05) })
    const loader = new SweepLoader()
    assert.match(refusal(await admitJob(job(e, 0, a(0.5)), e, allowed, loader)), /the values are not those the sweep's coordinator assigned to trial 0/)
    assert.match(refusal(await admitJob(job(e, 3, a(0.05)), e, allowed, loader)), /trial 3 was not assigned by the sweep's coordinator/)
    assert.match(refusal(await admitJob(job(e, 0, a(0.05), { sweepHash: 'f'.repeat(64) }), e, allowed, loader)), /the job's sweep hash ffffffffffff… is not the hash of .*sweep\.json/)
    assert.match(refusal(await admitJob({ ...job(e, 0, a(0.05)), id: `${e.id}-00` }, e, allowed, loader)), /the job's id `.*-00` is not `.*-0`/)
    assert.match(refusal(await admitJob(job(e, 0, a(0.05), { sweep: 'other-0123456789' }), e, allowed, loader)), /the job names the sweep other-0123456789, but it is on the queue of the sweep grid-/)
  })

  it('refuses a run folder, a trials folder or a process-id file that is a symbolic link leading out of the sweep folder; a link inside it is fine', async () => {
    const loader = new SweepLoader()
    const runLink = sweepFolder(join(root, 'run-link'), { 0: a(0.05) })
    mkdirSync(join(runLink.dir, 'trials'))
    symlinkSync(outside, join(runLink.dir, 'trials', '0000'))
    assert.match(refusal(await admitJob(job(runLink, 0, a(0.05)), runLink, allowed, loader)), /the run folder .*run-link\/trials\/0000 leads out of the sweep folder \(to .*lorapipe-admission-outside-/)
    const trialsLink = sweepFolder(join(root, 'trials-link'), { 0: a(0.05) })
    symlinkSync(outside, join(trialsLink.dir, 'trials'))
    assert.match(refusal(await admitJob(job(trialsLink, 0, a(0.05)), trialsLink, allowed, loader)), /the trials folder .*trials-link\/trials leads out of the sweep folder/)
    const pidLink = sweepFolder(join(root, 'pid-link'), { 0: a(0.05) })
    mkdirSync(join(pidLink.dir, 'trials'))
    symlinkSync(join(outside, 'pid'), join(pidLink.dir, 'trials', '.0000.pid'))
    assert.match(refusal(await admitJob(job(pidLink, 0, a(0.05)), pidLink, allowed, loader)), /the process-id file .*\.0000\.pid leads out of the sweep folder \(to nowhere \(a broken symbolic link\)\)/)
    const inside = sweepFolder(join(root, 'link-inside'), { 0: a(0.05) })
    mkdirSync(join(inside.dir, 'real-trials'))
    symlinkSync(join(inside.dir, 'real-trials'), join(inside.dir, 'trials'))
    assert.ok(!isRefusal(await admitJob(job(inside, 0, a(0.05)), inside, allowed, loader)))
    assert.equal(existsSync(join(outside, 'pid')), false)
  })
})

describe('admitSweep: the sweeps a worker serves', () => {
  it('only an absolute folder inside --allow (symbolic links resolved) that holds a sweep with the registered hash', async () => {
    const loader = new SweepLoader()
    const e = sweepFolder(join(root, 'served'), {})
    assert.ok(!isRefusal(await admitSweep(e, allowed, loader)))
    assert.match(refusal(await admitSweep({ ...e, dir: 'served' }, allowed, loader)), /its folder `served` is not an absolute path/)
    assert.match(refusal(await admitSweep(e, AllowedFolders.of([outside]), loader)), /its folder is outside the folders this worker serves \(--allow .*outside/)
    symlinkSync(join(root, 'served'), join(outside, 'link-to-served'))
    assert.match(refusal(await admitSweep({ ...e, dir: join(outside, 'link-to-served') }, AllowedFolders.of([outside]), loader)), /outside the folders this worker serves/)
    assert.match(refusal(await admitSweep({ ...e, dir: join(root, 'not-mounted') }, allowed, loader)), /this worker cannot reach its folder .*not-mounted: .*same path/)
    mkdirSync(join(root, 'empty'))
    assert.match(refusal(await admitSweep({ ...e, dir: join(root, 'empty') }, allowed, loader)), /holds no sweep \(no sweep\.json and sweep\.jsonl\)/)
    assert.match(refusal(await admitSweep({ ...e, sweepHash: '0'.repeat(64) }, allowed, loader)), /its sweep\.json \(hash [0-9a-f]{12}…\) is not the one its coordinator registered \(000000000000…\)/)
    assert.match(refusal(await admitSweep({ ...e, name: 'renamed' }, allowed, loader)), /the registry calls it renamed, but its folder holds the sweep grid/)
  })

  it('refuses a sweep whose sweep file, base pipeline or stage module lies outside --allow, before importing any module', async () => {
    const loader = new SweepLoader()
    // A base outside, named by a sweep file inside.
    cpSync(join(root, 'project'), join(outside, 'project'), { recursive: true })
    const far = sweepFileOf(join(root, 'project'), join(outside, 'project', 'pipelines', 'bow.yaml'), 'far-base.yaml')
    const farBase = sweepFolder(join(root, 'far-base'), {}, { file: far, sha256: fileHash(far) })
    assert.match(refusal(await admitSweep(farBase, allowed, loader)), /the pipeline file .*outside.*bow\.yaml is outside the folders this worker serves/)
    // The sweep file itself outside.
    const outFile = sweepFileOf(join(outside, 'project'), join(root, 'project', 'pipelines', 'bow.yaml'))
    const farFile = sweepFolder(join(root, 'far-file'), {}, { file: outFile, sha256: fileHash(outFile) })
    assert.match(refusal(await admitSweep(farFile, allowed, loader)), /its sweep file .*outside.*grid\.yaml is outside the folders this worker serves/)
    // A stage module outside, named by a --set of the sweep's command line: refused, never imported.
    const marker = join(outside, 'MARKER')
    writeFileSync(join(outside, 'evil.ts'), `import { writeFileSync } from 'node:fs'\nwriteFileSync(${JSON.stringify(marker)}, 'x')\nexport default { name: 'evil', params: {}, run: () => undefined }\n`)
    const evil = sweepFolder(join(root, 'evil-set'), {}, { sets: [`stages.train.uses=${join(outside, 'evil.ts')}`] })
    assert.match(refusal(await admitSweep(evil, allowed, loader)), /the stage module .*evil\.ts is outside the folders this worker serves/)
    assert.equal(existsSync(marker), false, 'the module was not imported')
  })
})

describe('assignmentProblem: values within the declared parameters and domains', () => {
  const space: SearchSpace = [
    { name: 'lr', domain: { kind: 'float', low: 1e-5, high: 1e-2, log: true } },
    { name: 'r', domain: { kind: 'int', low: 4, high: 64, log: false } },
    { name: 'targets', domain: { kind: 'categorical', choices: [['q', 'v'], { a: 1, b: 2 }] } },
    { name: 'shape', domain: { kind: 'together', bundles: [{ 'lora.r': 8 }, { 'lora.r': 16 }] } },
    { name: 'seed', domain: { kind: 'constant', value: 7 } },
  ]
  const ok = { lr: 1e-3, r: 8, targets: { b: 2, a: 1 }, shape: 1, seed: 7 }
  it('accepts a point of the space (a categorical by content, whatever its key order)', () => {
    assert.equal(assignmentProblem(space, ok), undefined)
  })
  it('names the parameter and what is wrong with its value', () => {
    for (const [change, words] of [
      [{ lr: 0.5 }, /parameter `lr`: 0\.5 is not a number from 0\.00001 to 0\.01/],
      [{ r: 2.5 }, /parameter `r`: 2\.5 is not a whole number from 4 to 64/],
      [{ r: 65 }, /parameter `r`: 65 is not a whole number from 4 to 64/],
      [{ r: '8' }, /parameter `r`: "8" is not a whole number/],
      [{ targets: ['v', 'q'] }, /parameter `targets`: \["v","q"\] is not one of its values/],
      [{ shape: 2 }, /parameter `shape`: 2 is not the index of one of its 2 bundles/],
      [{ shape: 0.5 }, /not the index of one of its 2 bundles/],
      [{ seed: 8 }, /parameter `seed` is fixed at 7, not 8/],
      [{ 'runtime.blas': '/x.so' }, /unknown parameter `runtime\.blas`: the sweep file declares `lr`, `r`, `targets`, `shape`, `seed`/],
    ] as const)
      assert.match(assignmentProblem(space, { ...ok, ...change }) ?? 'accepted', words)
    const { r: _r, ...noR } = ok
    assert.match(assignmentProblem(space, noR) ?? 'accepted', /no value for parameter `r`/)
  })
})
