// `trainer.report_to: [tensorboard]` end to end: a run writes TensorBoard event files in its
// run folder's tb/<stage>/, and an independent reader (tests/fixtures/tensorboard/read_events.py:
// Python's struct, crcmod's CRC-32C and the protobuf runtime, none of lorapipe's code) finds in
// them every scalar of the run's events.jsonl at its step, the hyperparameters and how the stage
// ended. A sweep's trials get one each; a resumed run goes on without writing a step twice; a
// tb folder that cannot be used is refused before anything runs.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lorapipe, startLorapipe } from './support/cli.ts'
import { needsShared, repoRoot, shared } from './support/shared.ts'

const tmp = () => mkdtempSync(join(tmpdir(), 'lorapipe-tb-'))
const reader = join(repoRoot, 'tests', 'fixtures', 'tensorboard', 'read_events.py')
const bowTb = join(repoRoot, 'tests', 'fixtures', 'pipelines', 'bow-tensorboard.yaml')

const python = spawnSync('/usr/bin/python3', ['-c', 'import google.protobuf, crcmod'], { encoding: 'utf8' })
const needsReader: string | false =
  python.status === 0 ? false : 'skipped: the independent event-file reader needs /usr/bin/python3 with python3-protobuf and python3-crcmod (apt-get install python3-protobuf python3-crcmod)'

interface Value {
  tag: string
  simple_value?: number | null
  plugin?: string
  hparams?: { sessionStartInfo?: { hparams: Record<string, unknown>; startTimeSecs?: number }; sessionEndInfo?: { status: number | string } }
  text?: string[]
}
interface TbEvent {
  wall_time: number
  step: number
  file_version?: string
  summary?: Value[]
}

/** The events of each file in `dir`, decoded by the Python reader. */
function readTb(dir: string): { file: string; events: TbEvent[] }[] {
  const files = readdirSync(dir).sort().map((f) => join(dir, f))
  const r = spawnSync('/usr/bin/python3', [reader, ...files], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l.replace(/\bNaN\b/g, 'null')))
}

const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l))

/** What TensorBoard should show of events.jsonl: (stage, tag, step) -> [value, wall time], the first time each is reported. */
function expectedScalars(runDir: string): Map<string, [number | null, number]> {
  const out = new Map<string, [number | null, number]>()
  const put = (stage: string, tag: string, step: number, v: number | null, time: string) => {
    const k = `${stage} ${tag} ${step}`
    if (!out.has(k)) out.set(k, [v, Date.parse(time) / 1000])
  }
  for (const e of lines(join(runDir, 'events.jsonl'))) {
    if (e._tag === 'TrainLog') {
      put(e.stage, 'train/loss', e.step, e.loss, e.time)
      put(e.stage, 'train/learning_rate', e.step, e.learningRate, e.time)
      if (e.gradNorm !== undefined) put(e.stage, 'train/grad_norm', e.step, e.gradNorm, e.time)
      put(e.stage, 'train/epoch', e.step, e.epoch, e.time)
      if (e.samplesPerSecond !== undefined) put(e.stage, 'train/samples_per_s', e.step, e.samplesPerSecond, e.time)
    } else if (e._tag === 'EvalMetrics') {
      for (const [k, v] of Object.entries(e.metrics)) put(e.stage, `eval/${k.replace(/^eval_/, '')}`, e.step, v as number | null, e.time)
    }
  }
  return out
}

/** Every scalar in the stage's event files, (stage, tag, step) -> [value, wall time]; a (tag, step) written twice fails. */
function writtenScalars(runDir: string, stage: string): { scalars: Map<string, [number | null, number]>; files: { file: string; events: TbEvent[] }[] } {
  const files = readTb(join(runDir, 'tb', stage))
  const scalars = new Map<string, [number | null, number]>()
  for (const { file, events } of files) {
    assert.match(file, /\/events\.out\.tfevents\.\d{10}\.[^/]+$/)
    assert.equal(events[0]?.file_version, 'brain.Event:2', `${file} starts with its file_version event`)
    for (const e of events)
      for (const v of e.summary ?? []) {
        if (v.plugin) continue
        const k = `${stage} ${v.tag} ${e.step}`
        assert.ok(!scalars.has(k), `${k} is written once`)
        scalars.set(k, [v.simple_value ?? null, e.wall_time])
      }
  }
  return { scalars, files }
}

/** Every scalar of events.jsonl is in the event files, as float32 (TensorBoard's simple_value), at its step and time, and nothing else is. */
function assertSameScalars(runDir: string, stage: string) {
  const expected = [...expectedScalars(runDir)].filter(([k]) => k.startsWith(`${stage} `))
  const { scalars } = writtenScalars(runDir, stage)
  assert.ok(expected.length > 0, 'the run reported scalars')
  assert.deepEqual([...scalars.keys()].sort(), expected.map(([k]) => k).sort())
  for (const [k, [v, t]] of expected) {
    const [got, wall] = scalars.get(k)!
    assert.equal(got, v === null ? null : Math.fround(v), k)
    assert.equal(wall, t, `${k}: wall_time is the event's time`)
  }
  return expected.length
}

const hparamsOf = (files: { events: TbEvent[] }[]) =>
  files.flatMap((f) => f.events).flatMap((e) => e.summary ?? []).filter((v) => v.tag === '_hparams_/session_start_info').map((v) => v.hparams!.sessionStartInfo!.hparams)
const endStatuses = (files: { events: TbEvent[] }[]) =>
  files.flatMap((f) => f.events).flatMap((e) => e.summary ?? []).filter((v) => v.tag === '_hparams_/session_end_info').map((v) => v.hparams!.sessionEndInfo!.status)

describe('trainer.report_to: [tensorboard]', { skip: needsReader }, () => {
  test('a DistilBERT LoRA run writes tb/finetune/ with every train and eval scalar of events.jsonl, its hyperparameters and its config', { skip: needsShared }, () => {
    const out = join(tmp(), 'run')
    const r = lorapipe([
      'run', 'pipelines/sst2-lora.yaml',
      '--set', `model.path=${shared('fixtures', 'tiny-distilbert')}`,
      '--set', `dataset.train.path=${shared('data', 'sst2', 'train.tsv')}`,
      '--set', `dataset.eval.path=${shared('data', 'sst2', 'dev.tsv')}`,
      '--set', 'trainer.max_steps=6', '--set', 'dataset.train.limit=96', '--set', 'dataset.eval.limit=64',
      '--set', 'trainer.log_every=2', '--set', 'trainer.eval_every=3',
      '--set', 'trainer.report_to=[tensorboard]', '--out', out, '-q',
    ])
    assert.equal(r.code, 0, r.stderr)
    const n = assertSameScalars(out, 'finetune')
    assert.ok(n >= 3 * 5 + 2 * 5, `train logs at steps 2, 4, 6 and evaluations at 3, 6 (${n} scalars)`)
    const { files } = writtenScalars(out, 'finetune')
    const tags = new Set(files.flatMap((f) => f.events).flatMap((e) => e.summary ?? []).map((v) => v.tag))
    for (const t of ['train/loss', 'train/learning_rate', 'train/grad_norm', 'train/samples_per_s', 'eval/loss', 'eval/accuracy', 'eval/f1']) assert.ok(tags.has(t), t)
    const [hp, ...more] = hparamsOf(files)
    assert.equal(more.length, 0)
    assert.equal(hp!['lora.r'], 8)
    assert.equal(hp!['trainer.learning_rate'], 2e-4)
    assert.equal(hp!['model.id'], 'distilbert-base-uncased')
    assert.equal(hp!['lora.target_modules'], '["q_lin","v_lin"]')
    assert.equal(hp!.seed, 42)
    assert.deepEqual(endStatuses(files), [1], 'STATUS_SUCCESS')
    const config = files.flatMap((f) => f.events).flatMap((e) => e.summary ?? []).find((v) => v.tag === 'config')
    assert.match(config!.text![0]!, /^ {4}model:\n {6}id: distilbert-base-uncased$/m)
  })

  test('each trial of a sweep is a run with its own tb/ folder and its own hyperparameters', () => {
    const dir = tmp()
    const sweep = join(dir, 'sweep.yaml')
    writeFileSync(sweep, `name: bow-tb-sweep\nbase: ${bowTb}\nmetric: {name: eval_accuracy, goal: maximize}\nmethod: grid\nparameters:\n  stages.train.with.learning_rate: {values: [0.05, 0.2]}\n`)
    const out = join(dir, 'out')
    const r = lorapipe(['sweep', sweep, '--out', out, '--set', 'stages.train.with.epochs=1'], { cwd: dir })
    assert.equal(r.code, 0, r.stderr)
    const trials = readdirSync(join(out, 'trials')).filter((n) => /^\d+$/.test(n)).sort()
    assert.equal(trials.length, 2)
    const rates = trials.map((t) => {
      const runDir = join(out, 'trials', t)
      assertSameScalars(runDir, 'train')
      const [hp] = hparamsOf(writtenScalars(runDir, 'train').files)
      return hp!.learning_rate
    })
    assert.deepEqual(rates.sort(), [0.05, 0.2])
  })

  test('a killed run resumed with --resume continues the same tb folder in a new file, cuts off a record the kill tore, and writes no step twice', async () => {
    const out = join(tmp(), 'run')
    const child = startLorapipe(['run', bowTb, '--set', 'vars.step_ms=25', '--out', out, '--json'])
    let stdout = ''
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no evaluation at step 40; stdout so far: ${stdout.slice(-2000)}`)), 90_000)
      child.stdout.on('data', (d) => {
        stdout += d
        if (/"_tag":"EvalMetrics","step":40/.test(stdout)) {
          clearTimeout(t)
          resolve()
        }
      })
    })
    child.kill('SIGKILL')
    await new Promise((r) => child.on('close', r))
    const [first] = readdirSync(join(out, 'tb', 'train'))
    const firstFile = join(out, 'tb', 'train', first!)
    const whole = readFileSync(firstFile).length
    // The first bytes of a record, as a kill in the middle of a write leaves them.
    appendFileSync(firstFile, Buffer.from([40, 0, 0, 0, 0, 0, 0, 0, 1, 2]))

    const resumed = lorapipe(['run', '--resume', out, '-q'])
    assert.equal(resumed.code, 0, resumed.stderr)
    assert.equal(readFileSync(firstFile).length, whole, 'the torn record is cut off')
    const { files } = writtenScalars(out, 'train')
    assert.equal(files.length, 2, 'a new file for the resumed session')
    const trainSteps = (f: { events: TbEvent[] }) => f.events.filter((e) => e.summary?.some((v) => v.tag === 'train/loss')).map((e) => e.step)
    const before = trainSteps(files[0]!)
    const after = trainSteps(files[1]!)
    assert.ok(before.includes(40) && after.length > 0 && after[0]! > Math.max(...before), `steps go on after ${Math.max(...before)}: ${after.join(', ')}`)
    assertSameScalars(out, 'train')
    assert.equal(hparamsOf(files).length, 1, 'the hyperparameters are written once')
    assert.deepEqual(endStatuses(files), [1])
  })

  test('a tb folder that is a file, or an event file that fails its checksum, refuses the resume (exit 2) before anything runs', () => {
    const out = join(tmp(), 'run')
    const r = lorapipe(['run', bowTb, '--set', 'stages.train.with.epochs=1', '--out', out, '-q'])
    assert.equal(r.code, 0, r.stderr)
    const eventsBefore = readFileSync(join(out, 'events.jsonl'), 'utf8')
    const stageDir = join(out, 'tb', 'train')
    const [name] = readdirSync(stageDir)
    const file = join(stageDir, name!)
    const bytes = readFileSync(file)
    // One byte changed in the data of the third record.
    bytes[bytes.length - 30]! ^= 0xff
    writeFileSync(file, bytes)
    const corrupt = lorapipe(['run', '--resume', out])
    assert.equal(corrupt.code, 2, corrupt.stderr)
    assert.match(corrupt.stderr, new RegExp(`error: tensorboard \\(trainer\\.report_to\\) cannot use ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: a record fails its checksum at byte \\d+`))
    assert.match(corrupt.stderr, /hint: move .* out of .*tb .*or drop tensorboard from trainer\.report_to/)
    assert.doesNotMatch(corrupt.stderr, /\n\s+at /, 'no stack trace')

    rmSync(join(out, 'tb'), { recursive: true })
    writeFileSync(join(out, 'tb'), 'not a folder')
    const blocked = lorapipe(['run', '--resume', out])
    assert.equal(blocked.code, 2, blocked.stderr)
    assert.match(blocked.stderr, /cannot use .*\/tb: it is a file, not a folder/)
    assert.equal(readFileSync(join(out, 'events.jsonl'), 'utf8'), eventsBefore, 'nothing ran')
    assert.equal(readFileSync(join(out, 'tb'), 'utf8'), 'not a folder', 'the file is left as it was')
    assert.ok(!existsSync(join(out, 'tb', 'train')))
  })
})
