// A worker trusts its own launch, not the queue. A hostile script, with no coordinator, writes jobs,
// registry entries and events straight into the Redis that a real sweep and a real `lorapipe
// worker` use: jobs that name a stage module of its own (which would leave a marker file behind if
// it were ever imported), a BLAS library, run folders outside the sweep folder, parameter values
// the sweep file does not allow, trials the coordinator never assigned, another sweep hash, ids
// that do not match, malformed data; a sweep registered in a folder outside the worker's --allow,
// one whose trials folder is a symlink leading out, and garbage in the registry and in the event
// stream. Every forged job must end failed with its reason (never retried, never reported as
// succeeded), nothing may run or be written outside the real sweep folder, and the real sweep must
// finish as if nobody had interfered.
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { Queue } from 'bullmq'
import { needsRedis, startRedis, type TestRedis } from './support/redis.ts'
import { board, bowProject, killChildren, record, start, sweepFile, waitFor } from './support/queue.ts'
import { queueNameOf, sweepIdOf } from '../packages/queue/src/registry.ts'

const servers: TestRedis[] = []
after(async () => {
  killChildren()
  await Promise.all(servers.map((s) => s.stop()))
})

/** Every file and folder under `dir` (but `skip`) with a digest of its content: what must not change. */
function tree(dir: string, skip?: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (p === skip) continue
      if (e.isSymbolicLink()) out[relative(dir, p)] = 'link'
      else if (e.isDirectory()) {
        out[relative(dir, p) + '/'] = 'dir'
        walk(p)
      } else out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex')
    }
  }
  walk(dir)
  return out
}

/** A stage module that leaves a marker file the moment it is imported. */
const markerModule = (marker: string) =>
  `import { writeFileSync } from 'node:fs'\nwriteFileSync(${JSON.stringify(marker)}, 'imported by ' + process.pid)\nexport default { name: 'evil', params: {}, run: () => undefined }\n`

describe('a worker serving a queue that a hostile script also writes to', { skip: needsRedis }, () => {
  it('runs no foreign module, loads no foreign library, writes nothing outside the sweep folder, refuses every forged job with its reason, and the real sweep finishes', async () => {
    const r = await startRedis()
    servers.push(r)
    const redis = r.client()
    // The worker's folder (its default --allow), and a folder outside it that the attacker names.
    const home = realpathSync(mkdtempSync(join(tmpdir(), 'lorapipe-trust-')))
    const outside = realpathSync(mkdtempSync(join(tmpdir(), 'lorapipe-outside-')))
    const base = bowProject(home)
    const marker = join(outside, 'MARKER')
    writeFileSync(join(outside, 'evil-stage.ts'), markerModule(marker))
    writeFileSync(join(home, 'project', 'stages', 'not-named-by-the-sweep.ts'), markerModule(marker))
    writeFileSync(join(outside, 'libevil.so'), 'not a library')
    mkdirSync(join(outside, 'elsewhere'))
    const out = join(home, 'out')
    const f = sweepFile(join(home, 'project'), 'hostile', base, `metric: {name: eval_accuracy, goal: maximize}\nparameters:\n  stages.train.with.learning_rate: {values: [0.05, 0.5]}\n  stages.train.with.epochs: {value: 1}\n`)

    const w = start(['worker', '--queue', r.url], { cwd: home })
    const c = start(['sweep', f, '--set', 'vars.step_ms=20', '--queue', r.url, '--concurrency', '1', '--out', out], { cwd: home })
    await waitFor(() => record(out).some((e) => e.type === 'started' && e.trial === 0), 'trial 0 started', [c, w])
    assert.match(w.out(), new RegExp(`serving sweeps in ${home}`), 'the worker says which folders it serves')

    const sid = sweepIdOf('hostile', out)
    const q = new Queue(queueNameOf(sid), { connection: redis })
    const hash = createHash('sha256').update(readFileSync(join(out, 'sweep.json'))).digest('hex')
    const a0 = record(out).find((e) => e.type === 'assigned' && e.trial === 0)!.assignment!
    const lr = 'stages.train.with.learning_rate'

    // A second sweep folder inside the worker's folder, a copy of the real one (same sweep.json, so
    // the same hash, and trial 0 assigned in its record) whose trials folder leads outside.
    const linked = join(home, 'linked')
    mkdirSync(linked)
    cpSync(join(out, 'sweep.json'), join(linked, 'sweep.json'))
    writeFileSync(join(linked, 'sweep.jsonl'), readFileSync(join(out, 'sweep.jsonl'), 'utf8').split('\n').filter((l) => /"type":"assigned","time":"[^"]*","trial":0,/.test(l)).join('\n') + '\n')
    symlinkSync(join(outside, 'elsewhere'), join(linked, 'trials'))
    // And a sweep registered in a folder outside --allow (it holds a sweep, too).
    const foreign = join(outside, 'sweep')
    mkdirSync(foreign)
    cpSync(join(out, 'sweep.json'), join(foreign, 'sweep.json'))
    cpSync(join(linked, 'sweep.jsonl'), join(foreign, 'sweep.jsonl'))
    const before = { home: tree(home, out), outside: tree(outside) }

    // What the jobs used to carry: a spec with paths and the trial's whole pipeline.
    const absBow = readFileSync(base, 'utf8').replace('../stages/', join(home, 'project', 'stages') + '/').replace('data: ../data', `data: ${join(home, 'project', 'data')}`)
    const evilPipeline = `name: evil\nstages:\n  x:\n    uses: ${join(outside, 'evil-stage.ts')}\n`
    const oldJob = (trial: number, runDir: string, pipeline: string) => ({ spec: { sweep: 'hostile', trial, assignment: {}, pipeline: { file: base, sets: [] }, runDir, resume: true }, pipeline })
    // The job as it is now, with its parts chosen by the attacker.
    const job = (trial: unknown, assignment: Record<string, unknown> = a0, more: Record<string, unknown> = {}) => ({ v: 1, sweep: sid, trial, assignment, sweepHash: hash, resume: false, ...more })
    const forged: { id: string; data: unknown; why: RegExp }[] = [
      { id: `${sid}-7`, data: oldJob(7, join(out, 'trials', '0007'), evilPipeline), why: /unknown key `spec`/ },
      { id: `${sid}-8`, data: oldJob(8, `${out}/trials/../../X`, absBow), why: /unknown key `spec`/ },
      { id: `${sid}-9`, data: oldJob(9, join(out, 'trials', '0009'), `${absBow}runtime:\n  blas: ${join(outside, 'libevil.so')}\n`), why: /unknown key `spec`/ },
      { id: `${sid}-10`, data: job(10, { ...a0, 'stages.train.uses': join(outside, 'evil-stage.ts') }), why: /unknown parameter `stages\.train\.uses`/ },
      { id: `${sid}-11`, data: job(11, { ...a0, 'runtime.blas': join(outside, 'libevil.so') }), why: /unknown parameter `runtime\.blas`/ },
      { id: `${sid}-12`, data: job(12, a0, { pipeline: evilPipeline }), why: /unknown key `pipeline`/ },
      { id: `${sid}-13`, data: job(13, a0, { runDir: join(home, 'X') }), why: /unknown key `runDir`/ },
      { id: `${sid}-../X`, data: job('../X'), why: /`trial`: expected a whole number/ },
      { id: `${sid}--1`, data: job(-1), why: /`trial`: expected a whole number/ },
      { id: `${sid}-1.5`, data: job(1.5), why: /`trial`: expected a whole number/ },
      { id: `${sid}-1e+21`, data: job(1e21), why: /`trial`: expected a whole number/ },
      { id: 'evil-0', data: job(0), why: /the job's id `evil-0` is not `.*-0`/ },
      { id: `${sid}-14`, data: job(14, a0, { sweep: '../X' }), why: /`sweep`: / },
      { id: `${sid}-15`, data: job(15, { ...a0, [lr]: 0.3 }), why: /parameter `stages\.train\.with\.learning_rate`: 0\.3 is not one of its values/ },
      { id: `${sid}-16`, data: job(16, { 'stages.train.with.epochs': 1 }), why: /no value for parameter `stages\.train\.with\.learning_rate`/ },
      { id: `${sid}-17`, data: job(17, { ...a0, 'stages.train.with.epochs': 100 }), why: /parameter `stages\.train\.with\.epochs` is fixed at 1, not 100/ },
      { id: `${sid}-5`, data: job(5), why: /trial 5 was not assigned by the sweep's coordinator/ },
      { id: `${sid}-6`, data: job(6, a0, { sweepHash: '0'.repeat(64) }), why: /sweep hash 000000000000… is not the hash of .*sweep\.json/ },
      { id: `${sid}-18`, data: job(18, a0, { v: '1' }), why: /`v`: expected 1/ },
      { id: `${sid}-19`, data: job(19, { [lr]: 'x'.repeat(2_000_000) }), why: /too large/ },
      { id: `${sid}-20`, data: job(20, a0, { resume: 'yes' }), why: /`resume`: expected true or false/ },
      { id: `${sid}-21`, data: 'a string, not a job', why: /expected an object/ },
    ]
    for (const x of forged) await q.add('trial', x.data as object, { jobId: x.id, attempts: 3, backoff: { type: 'fixed', delay: 100 } })
    const id2 = sweepIdOf('hostile', linked)
    const id3 = sweepIdOf('hostile', foreign)
    const entry = (id: string, dir: string) => JSON.stringify({ id, queue: queueNameOf(id), name: 'hostile', dir, status: 'running', startedAt: new Date().toISOString(), heartbeat: Date.now(), sweepHash: hash })
    await redis.hset('lorapipe:sweeps', queueNameOf(id2), entry(id2, linked), queueNameOf(id3), entry(id3, foreign))
    // Garbage in the registry and in the real sweep's event stream: ignored, nobody crashes.
    await redis.hset('lorapipe:sweeps', 'junk', 'not json', 'junk2', JSON.stringify({ id: 1, queue: [], extra: true }), 'junk3', 'x'.repeat(100_000))
    for (const data of ['not json', '{"attempt":"1"}', JSON.stringify({ attempt: 1, event: { _tag: 'EvalMetrics', time: 'now', step: 'x', epoch: 1, metrics: { eval_accuracy: 'NaN' } } })])
      await redis.xadd(`bull:${queueNameOf(sid)}:events`, '*', 'event', 'progress', 'jobId', `${sid}-0`, 'data', data)
    const q2 = new Queue(queueNameOf(id2), { connection: redis })
    await q2.add('trial', job(0, a0, { sweep: id2 }), { jobId: `${id2}-0`, attempts: 3 })
    const q3 = new Queue(queueNameOf(id3), { connection: redis })
    await q3.add('trial', oldJob(0, join(foreign, 'trials', '0000'), evilPipeline), { jobId: `${id3}-0`, attempts: 3 })

    const ended = async (queue: Queue, id: string) => ['failed', 'completed'].includes(await (await queue.getJob(id))!.getState())
    await waitFor(async () => (await Promise.all([...forged.map((x) => ended(q, x.id)), ended(q2, `${id2}-0`)])).every(Boolean), 'every forged job ended', [c, w], 60_000)
    assert.equal(await c.exited, 0, c.out())

    for (const x of forged) {
      const j = (await q.getJob(x.id))!
      assert.equal(await j.getState(), 'failed', `${x.id} failed`)
      assert.match(j.failedReason, /^refused by the worker on \S+: /, `${x.id}: ${j.failedReason}`)
      assert.match(j.failedReason, x.why, x.id)
      assert.equal(j.attemptsMade, 1, `${x.id} is not retried`)
      assert.ok(w.out().includes(`job ${x.id}: refused: `), `the worker logged the refusal of ${x.id}`)
    }
    const j2 = (await q2.getJob(`${id2}-0`))!
    assert.equal(await j2.getState(), 'failed')
    assert.match(j2.failedReason, /the trials folder .*linked\/trials leads out of the sweep folder/)
    // Never taken: its folder is outside the folders the worker serves.
    assert.equal(await (await q3.getJob(`${id3}-0`))!.getState(), 'waiting')
    await waitFor(() => w.out().includes(`not serving sweep hostile (${foreign}): its folder is outside the folders this worker serves (--allow ${home})`), 'the worker said why it does not serve the foreign sweep', [w], 30_000)

    // Nothing ran, nothing was written anywhere but in the real sweep folder.
    assert.equal(existsSync(marker), false, 'no foreign stage module was imported')
    assert.deepEqual(tree(home, out), before.home, 'nothing changed in the worker folder outside the sweep folder')
    assert.deepEqual(tree(outside), before.outside, 'nothing changed outside the worker folder')
    assert.deepEqual(readdirSync(join(out, 'trials')).filter((n) => !n.startsWith('.')).sort(), ['0000', '0001'], 'only the real trials have run folders')
    assert.doesNotMatch(w.out(), /trial 00(0[2-9]|[1-9]\d) of hostile/, 'no forged trial was started or reported')
    assert.equal((w.out().match(/of hostile: succeeded/g) ?? []).length, 2, 'the worker reports the two real trials, and only those, as succeeded')

    // The real sweep is as if nobody had interfered.
    assert.deepEqual(board(out).map((x) => [x.trial, x.state, x.evaluations]).sort(), [[0, 'completed', 2], [1, 'completed', 2]])
    assert.ok(board(out).every((x) => typeof x.objective === 'number' && x.objective >= 0 && x.objective <= 1))
    assert.ok(statSync(join(out, 'trials', '0000', 'run.json')).isFile())
    // The coordinator went on hearing the trials' events after the garbage in its stream (progress
    // is only heard there), and none of the garbage got through.
    const heard = readFileSync(join(out, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { _tag: string; trial?: number; event?: { _tag: string; step?: unknown } })
    for (const t of [0, 1]) assert.ok(heard.some((e) => e._tag === 'TrialEvent' && e.trial === t && e.event?._tag === 'Progress'), `trial ${t}'s progress was heard`)
    assert.ok(heard.every((e) => e.event?._tag !== 'EvalMetrics' || typeof e.event.step === 'number'))
    w.child.kill('SIGINT')
    assert.equal(await w.exited, 130)
  })

  it('a resumed coordinator replaces the waiting jobs queued for another sweep.json, and a job someone else put under a trial\'s id before the trial was queued', async () => {
    const r = await startRedis()
    servers.push(r)
    const redis = r.client()
    const home = realpathSync(mkdtempSync(join(tmpdir(), 'lorapipe-trust-resume-')))
    const base = bowProject(home)
    const out = join(home, 'out')
    const f = sweepFile(join(home, 'project'), 'replaced', base, `metric: {name: eval_accuracy, goal: maximize}\nparameters:\n  stages.train.with.learning_rate: {values: [0.05, 0.5, 0.1]}\n  stages.train.with.epochs: {value: 1}\n`)
    // No worker yet: trials 0 and 1 wait on the queue; the coordinator is killed.
    const c1 = start(['sweep', f, '--queue', r.url, '--concurrency', '2', '--out', out], { cwd: home })
    await waitFor(() => record(out).filter((e) => e.type === 'started').length === 2, 'trials 0 and 1 queued', [c1], 60_000)
    const sid = sweepIdOf('replaced', out)
    const q = new Queue(queueNameOf(sid), { connection: redis })
    await waitFor(async () => (await q.getJobCounts('waiting')).waiting === 2, 'two jobs waiting', [c1])
    c1.child.kill('SIGKILL')
    await c1.exited
    const oldHash = createHash('sha256').update(readFileSync(join(out, 'sweep.json'))).digest('hex')
    // The same sweep.json written another way: another hash, so the waiting jobs are not for it.
    writeFileSync(join(out, 'sweep.json'), JSON.stringify(JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')), null, 4) + '\n')
    const newHash = createHash('sha256').update(readFileSync(join(out, 'sweep.json'))).digest('hex')
    assert.notEqual(newHash, oldHash)
    // Someone else's job under trial 2's id, before the coordinator queues trial 2.
    await q.add('trial', { v: 1, sweep: sid, trial: 2, assignment: { 'stages.train.with.learning_rate': 0.1, 'stages.train.with.epochs': 1 }, sweepHash: '0'.repeat(64), resume: false }, { jobId: `${sid}-2` })

    const w = start(['worker', '--queue', r.url], { cwd: home })
    const c2 = start(['sweep', '--resume', out, '--queue', r.url], { cwd: home })
    assert.equal(await c2.exited, 0, c2.out() + w.out())
    assert.deepEqual(board(out).map((x) => [x.trial, x.state]).sort(), [[0, 'completed'], [1, 'completed'], [2, 'completed']])
    for (const t of [0, 1, 2]) assert.equal(((await q.getJob(`${sid}-${t}`))!.data as { sweepHash: string }).sweepHash, newHash, `trial ${t}'s job is the resumed coordinator's`)
    // The only job refused is the planted one, if the worker came to it before the coordinator replaced it.
    assert.deepEqual(w.out().match(/job \S+: refused/g) ?? [], w.out().includes(`job ${sid}-2: refused`) ? [`job ${sid}-2: refused`] : [])
    assert.match(w.out(), /trial 0002 of replaced: succeeded/)
    w.child.kill('SIGINT')
    assert.equal(await w.exited, 130)
  })
})
