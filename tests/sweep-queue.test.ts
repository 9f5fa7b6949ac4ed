// Distributed sweeps end to end: a real redis-server (tests/support/redis.ts), a coordinator
// (`lorapipe sweep --queue`) and two `lorapipe worker` processes, with faults injected: workers
// killed (SIGKILL) and frozen (SIGSTOP past their lock), the coordinator killed and resumed, Redis
// shut down and started again, a trial that fails for real. After each: every trial finished
// exactly once, no job left active, waiting or stalled, one leaderboard row per trial.
// Lock, stall and leash intervals are cut to seconds (LORAPIPE_QUEUE_*), so faults are noticed fast.
// The cases are independent (each has its own Redis) and run side by side: most of their time is
// spent waiting for locks to expire.
import { after, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Queue } from 'bullmq'
import { lorapipeAsync } from './support/cli.ts'
import { needsRedis, startRedis, type TestRedis } from './support/redis.ts'
import { needsShared, repoRoot, sharedDir } from './support/shared.ts'
import { board, killChildren, queueTuning as tuning, record, start, sweepFile, waitFor, type Proc } from './support/queue.ts'
import { queueNameOf, sweepIdOf } from '../packages/queue/src/registry.ts'
import { parseQueueUrl } from '../packages/queue/src/connection.ts'

const tmp = () => mkdtempSync(join(tmpdir(), 'lorapipe-queue-'))
const bowBase = join(repoRoot, 'tests', 'fixtures', 'pipelines', 'bow.yaml')
const tinyBase = join(repoRoot, 'tests', 'fixtures', 'sweeps', 'tiny-base.yaml')

const servers: TestRedis[] = []
/** Trial processes a test stopped (SIGSTOP): woken up at the end whatever happened, so they can exit. */
const held: number[] = []
after(async () => {
  for (const pid of held) {
    try {
      process.kill(pid, 'SIGCONT')
    } catch {
      // already gone
    }
  }
  killChildren()
  await Promise.all(servers.map((s) => s.stop()))
})

async function redis(opts: { password?: string } = {}) {
  const r = await startRedis(opts)
  servers.push(r)
  return r
}

/** A worker that serves the sweeps of these tests: their folders and sweep files are in the temporary folder, their base pipelines in the checkout. */
const worker = (url: string, env: Record<string, string> = {}): Proc => start(['worker', '--queue', url, '--allow', tmpdir(), '--allow', repoRoot], { env })

const runEvents = (dir: string, trial: number) =>
  readFileSync(join(dir, 'trials', String(trial).padStart(4, '0'), 'events.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { _tag: string; step?: number; message?: string })

/** What must hold once a distributed sweep has ended, whatever happened on the way. */
async function assertSettled(r: TestRedis, name: string, out: string, trials: number, completed: number) {
  const redisClient = r.client()
  const queueName = queueNameOf(sweepIdOf(name, out))
  const q = new Queue(queueName, { connection: redisClient })
  const counts = await q.getJobCounts('active', 'waiting', 'delayed', 'prioritized', 'completed', 'failed')
  assert.deepEqual(counts, { active: 0, waiting: 0, delayed: 0, prioritized: 0, completed, failed: trials - completed })
  assert.equal(await redisClient.scard(`bull:${queueName}:stalled`), 0, 'no job marked stalled')
  const rec = record(out)
  for (let t = 0; t < trials; t++) {
    assert.equal(rec.filter((e) => e.type === 'finished' && e.trial === t).length, 1, `trial ${t} finished once`)
    assert.equal(rec.filter((e) => e.type === 'assigned' && e.trial === t).length, 1, `trial ${t} assigned once`)
    const job = await q.getJob(`${sweepIdOf(name, out)}-${t}`)
    assert.ok(job, `trial ${t} has one job`)
  }
  const rows = board(out)
  assert.equal(rows.length, trials, 'one leaderboard row per trial')
  assert.deepEqual(rows.map((x) => x.trial).sort(), [...Array(trials).keys()])
  assert.equal(rows.filter((x) => x.state === 'completed').length, completed)
  const sweeps = await redisClient.hgetall('lorapipe:sweeps')
  assert.equal(JSON.parse(sweeps[queueName]!).status, 'done', 'the registry says the sweep is done')
}

describe('queue URLs and bad input (no Redis needed)', () => {
  it('turns redis:// and rediss:// URLs into connection options and shows them only with the password masked', () => {
    const c = parseQueueUrl('rediss://alice:p%40ss@queue.example:6380/3')
    assert.deepEqual([c.options.host, c.options.port, c.options.db, c.options.username, c.options.password, c.options.tls], ['queue.example', 6380, 3, 'alice', 'p@ss', {}])
    assert.equal(c.display, 'rediss://alice:***@queue.example:6380/3')
    assert.equal(parseQueueUrl('redis://:secret@127.0.0.1').display, 'redis://:***@127.0.0.1')
    assert.deepEqual([parseQueueUrl('redis://h').options.port, parseQueueUrl('redis://h').options.db], [6379, 0])
    assert.throws(() => parseQueueUrl('http://:secret@h:6379'), (e: Error) => /must start with redis:\/\/ or rediss:\/\//.test(e.message) && !e.message.includes('secret'))
    assert.throws(() => parseQueueUrl('redis://:secret@h/x'), /`\/x` is not a Redis database number/)
  })

  it('refuses a worker without --queue, with a bad URL or an --allow folder that is not there, and says so without the password (exit 2)', async () => {
    const none = await lorapipeAsync(['worker'])
    assert.equal(none.code, 2)
    assert.match(none.stderr, /needs --queue redis:\/\/host:6379/)
    const bad = await lorapipeAsync(['sweep', 'status', '--queue', 'http://:hunter2@h'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /--queue: the queue URL must start with redis:\/\/ or rediss:\/\//)
    assert.doesNotMatch(bad.stderr + bad.stdout, /hunter2/)
    const allow = await lorapipeAsync(['worker', '--queue', 'redis://127.0.0.1:1', '--allow', join(tmpdir(), 'lorapipe-no-such-folder')])
    assert.equal(allow.code, 2)
    assert.match(allow.stderr, /--allow .*lorapipe-no-such-folder: no such folder/)
  })
})

describe('distributed sweeps over BullMQ on a real redis-server', { skip: needsRedis, concurrency: true }, () => {
  it('survives Redis restarting mid-sweep and the coordinator killed (SIGKILL) then resumed: 4 trials over two workers, none lost or run twice', async () => {
    const r = await redis()
    const dir = tmp()
    const out = join(dir, 'out')
    const f = sweepFile(dir, 'bow-queue', bowBase, `metric: {name: eval_accuracy, goal: maximize}\nparameters:\n  stages.train.with.optimizer: {values: [adam, sgd]}\n  stages.train.with.learning_rate: {values: [0.05, 0.5]}\n`)
    const args = ['--set', 'stages.train.with.epochs=1', '--set', 'vars.step_ms=60', '--queue', r.url, '--concurrency', '2', '--out', out]
    const w1 = worker(r.url)
    const w2 = worker(r.url)
    const c1 = start(['sweep', f, ...args])
    await waitFor(() => record(out).some((e) => e.type === 'metrics'), 'a trial evaluated', [c1, w1, w2])
    // Redis goes down (saving its snapshot) and comes back on the same port and folder.
    await r.restart(1000)
    await waitFor(() => record(out).some((e) => e.type === 'started' && e.trial === 2), 'trial 2 started', [c1, w1, w2])
    c1.child.kill('SIGKILL')
    await c1.exited
    const c2 = await lorapipeAsync(['sweep', '--resume', out, '--queue', r.url], { env: tuning })
    assert.equal(c2.code, 0, c2.stdout + c2.stderr)
    assert.match(c2.stdout, /sweep bow-queue \(resumed\)/)
    assert.match(c2.stdout, /every grid point was tried \(4 trials\)/)
    await assertSettled(r, 'bow-queue', out, 4, 4)
    // None run twice: each trial was queued once (the resumed coordinator re-attached to the
    // running ones); both workers took trials.
    const rec = record(out)
    assert.deepEqual(rec.filter((e) => e.type === 'started' && !e.resume).map((e) => e.trial), [0, 1, 2, 3])
    assert.match(w1.out(), /trial \d{4} of bow-queue: succeeded/)
    assert.match(w2.out(), /trial \d{4} of bow-queue: succeeded/)
    for (const w of [w1, w2]) w.child.kill('SIGINT')
    assert.deepEqual(await Promise.all([w1.exited, w2.exited]), [130, 130])
  })

  it('refuses the late result of a frozen worker (SIGSTOP past its lock, then SIGCONT), retries a failing trial with backoff then records it failed, and never prints the Redis password', async () => {
    const password = 's3cret-Pw'
    const r = await redis({ password })
    const dir = tmp()
    const out = join(dir, 'out')
    const f = sweepFile(dir, 'bow-frozen', bowBase, `metric: {name: eval_accuracy, goal: maximize}\nparameters:\n  stages.train.with.label_column: {values: [label, sentiment]}\n`)
    const w1 = worker(r.url)
    const w2 = worker(r.url)
    const c = start(['sweep', f, '--set', 'stages.train.with.epochs=1', '--set', 'vars.step_ms=60', '--queue', r.url, '--concurrency', '2', '--retries', '1', '--out', out])
    const runsTrial0 = () => [w1, w2].find((w) => /trial 0000 of bow-frozen: started \(attempt 1/.test(w.out()))
    await waitFor(() => runsTrial0() !== undefined && runEvents(out, 0).some((e) => e._tag === 'Progress'), 'trial 0 trains', [c, w1, w2])
    const frozen = runsTrial0()!
    const other = frozen === w1 ? w2 : w1
    frozen.child.kill('SIGSTOP')
    // The lock expires, the other worker takes the stalled job over; then the frozen one wakes up.
    await waitFor(() => /trial 0000 of bow-frozen: started \(attempt 2/.test(other.out()), 'the other worker took trial 0 over', [c, w1, w2])
    frozen.child.kill('SIGCONT')
    assert.equal(await c.exited, 0, c.out())
    await waitFor(() => /trial 0000 of bow-frozen: this worker lost the job's lock/.test(frozen.out()), 'the frozen worker gave up its result', [frozen])
    assert.doesNotMatch(frozen.out(), /trial 0000 of bow-frozen: succeeded/)
    await assertSettled(r, 'bow-frozen', out, 2, 1)
    const rows = board(out)
    assert.equal(rows.find((x) => x.trial === 0)!.state, 'completed')
    const failed = rows.find((x) => x.trial === 1)!
    assert.equal(failed.state, 'failed')
    // --retries 1: two attempts, the second after the backoff, then recorded failed with its reason.
    assert.match(failed.reason!, /needs columns `sentence` and `sentiment`[\s\S]*\(after 2 attempts\)/)
    const job = await new Queue(queueNameOf(sweepIdOf('bow-frozen', out)), { connection: r.client() }).getJob(`${sweepIdOf('bow-frozen', out)}-1`)
    assert.equal(job!.attemptsMade, 2)
    assert.deepEqual(job!.opts.backoff, { type: 'exponential', delay: 300 })
    assert.match(w1.out() + w2.out(), /trial 0001 of bow-frozen: failed \(attempt 1 of 2\)/)

    // sweep status lists the sweep, its trials and the workers, with the password masked.
    const status = await lorapipeAsync(['sweep', 'status', '--queue', r.url])
    assert.equal(status.code, 0, status.stderr)
    assert.match(status.stdout, /queue redis:\/\/:\*\*\*@127\.0\.0\.1:\d+/)
    // The coordinator's last heartbeat is at its exit, just before: under a second ago reads `now`.
    assert.match(status.stdout, /bow-frozen {2}done, coordinator seen (?:now|\d+s ago) {2}.*out\n {4}trials: 0 waiting, 0 running, 1 done, 1 failed, 0 delayed/)
    assert.match(status.stdout, /workers:\n {2}\S+ pid \d+ {2}seen .* {2}0\/1 running/)
    const wrong = await lorapipeAsync(['sweep', 'status', '--queue', r.url.replace(encodeURIComponent(password), 'wrong-Pw')])
    assert.equal(wrong.code, 2)
    assert.match(wrong.stderr, /Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the password \(it said: WRONGPASS invalid username-password pair/)

    // A worker that cannot see a sweep's folder (a sweep started on another machine whose --out is
    // not shared here) does not serve it, and says so, instead of training into the void.
    const elsewhere = join(dir, 'not-mounted-here')
    const registry = r.client()
    const queueName = queueNameOf(sweepIdOf('elsewhere', elsewhere))
    await registry.hset('lorapipe:sweeps', queueName, JSON.stringify({ id: sweepIdOf('elsewhere', elsewhere), queue: queueName, name: 'elsewhere', dir: elsewhere, status: 'running', startedAt: new Date().toISOString(), heartbeat: Date.now(), sweepHash: 'a'.repeat(64) }))
    const q = new Queue(queueName, { connection: registry })
    const data = { v: 1, sweep: sweepIdOf('elsewhere', elsewhere), trial: 0, assignment: {}, sweepHash: 'a'.repeat(64), resume: false }
    const lost = await q.add('trial', data, { jobId: `${sweepIdOf('elsewhere', elsewhere)}-0`, attempts: 3 })
    await waitFor(() => /not serving sweep elsewhere \(.*not-mounted-here\): this worker cannot reach its folder .*same path/.test(w1.out()) && /not serving sweep elsewhere/.test(w2.out()), 'both workers said they cannot reach the folder', [w1, w2], 60_000)
    assert.equal(await (await q.getJob(lost.id!))!.getState(), 'waiting', 'left for a worker that sees the folder')
    assert.equal(existsSync(elsewhere), false, 'nothing was written where the folder should be')
    await registry.hset('lorapipe:sweeps', queueName, JSON.stringify({ ...JSON.parse((await registry.hget('lorapipe:sweeps', queueName))!), status: 'done' }))

    for (const w of [w1, w2]) w.child.kill('SIGINT')
    await Promise.all([w1.exited, w2.exited])
    // Nowhere: not in any output, nor in any file of the sweep folder.
    const texts = [c.out(), w1.out(), w2.out(), status.stdout, status.stderr, wrong.stdout, wrong.stderr]
    const files = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(d, e.name)) : [join(d, e.name)]))
    for (const file of files(out)) texts.push(readFileSync(file, 'latin1'))
    assert.ok(texts.join('\n').includes('redis://:***@127.0.0.1'), 'the URL is shown, masked')
    assert.equal(texts.filter((t) => t.includes(password) || t.includes('wrong-Pw')).length, 0, 'the password appears nowhere')
  })

  it('a trial the coordinator prunes (ASHA) is stopped by its worker and never retried', async () => {
    const r = await redis()
    const dir = tmp()
    const out = join(dir, 'out')
    // Learning rates too small to move the weights: no better than the initial model.
    const f = sweepFile(dir, 'bow-asha', bowBase, `metric: {name: eval_accuracy, goal: maximize}\nparameters:\n  stages.train.with.learning_rate: {values: [0.05, 1.0e-7]}\nearly_terminate: {type: asha, min_steps: 1, reduction_factor: 3}\n`)
    const w = worker(r.url)
    const c = start(['sweep', f, '--set', 'stages.train.with.epochs=1', '--set', 'vars.step_ms=40', '--queue', r.url, '--concurrency', '1', '--retries', '2', '--out', out])
    assert.equal(await c.exited, 0, c.out())
    assert.deepEqual(board(out).map((x) => [x.trial, x.state, x.evaluations]), [[0, 'completed', 2], [1, 'pruned', 1]])
    assert.match(board(out)[1]!.reason!, /pruned at evaluation 1 \(step 20\) by asha/)
    await waitFor(() => /trial 0001 of bow-asha: stopped by the coordinator/.test(w.out()), 'the worker stopped the pruned trial', [c, w])
    await assertSettled(r, 'bow-asha', out, 2, 1)
    const job = await new Queue(queueNameOf(sweepIdOf('bow-asha', out)), { connection: r.client() }).getJob(`${sweepIdOf('bow-asha', out)}-1`)
    assert.equal(job!.attemptsMade, 1, 'a pruned trial is not retried')
    assert.doesNotMatch(w.out(), /trial 0001 of bow-asha: started \(attempt 2/)
    // It stopped at its first evaluation instead of training on: its stage never completed.
    assert.ok(existsSync(join(out, 'trials', '0001', 'run.json')))
    assert.equal(existsSync(join(out, 'trials', '0001', 'train', 'stage.json')), false)
    w.child.kill('SIGINT')
    assert.equal(await w.exited, 130)
  })

  it('Ctrl-C on a worker puts its trial back on the queue for another; Ctrl-C on the coordinator stops the trial, and --resume --queue runs it to the end once', async () => {
    const r = await redis()
    const dir = tmp()
    const out = join(dir, 'out')
    const f = sweepFile(dir, 'bow-ctrlc', bowBase, `metric: {name: eval_accuracy, goal: maximize}\nparameters:\n  stages.train.with.learning_rate: {values: [0.05]}\n`)
    const w1 = worker(r.url)
    const w2 = worker(r.url)
    const c1 = start(['sweep', f, '--set', 'stages.train.with.epochs=1', '--set', 'vars.step_ms=100', '--queue', r.url, '--out', out])
    /** The trial's run has started `n` times and the last one trains. */
    const trains = (n: number) => () => {
      const events = runEvents(out, 0)
      const starts = events.flatMap((e, i) => (e._tag === 'RunStarted' ? [i] : []))
      return starts.length === n && events.slice(starts[n - 1]).some((e) => e._tag === 'Progress')
    }
    const runs = () => [w1, w2].find((w) => /trial 0000 of bow-ctrlc: started \(attempt 1/.test(w.out()))
    await waitFor(() => runs() !== undefined && trains(1)(), 'trial 0 trains', [c1, w1, w2])
    const first = runs()!
    const second = first === w1 ? w2 : w1
    first.child.kill('SIGINT')
    assert.equal(await first.exited, 130)
    assert.match(first.out(), /trial 0000 of bow-ctrlc: stopped cleanly; back on the queue/)
    await waitFor(() => /trial 0000 of bow-ctrlc: started \(attempt 2, continuing its run folder\)/.test(second.out()) && trains(2)(), 'the other worker continues trial 0', [c1, second])
    c1.child.kill('SIGINT')
    assert.equal(await c1.exited, 130, c1.out())
    assert.match(c1.out(), /resume with: lorapipe sweep --resume .* --queue redis:\/\/127\.0\.0\.1:\d+/)
    assert.match(second.out(), /trial 0000 of bow-ctrlc: stopped by the coordinator/)
    assert.ok(!record(out).some((e) => e.type === 'finished'), 'the stopped trial is unfinished, so resumable')
    const c2 = await lorapipeAsync(['sweep', '--resume', out, '--queue', r.url], { env: tuning })
    assert.equal(c2.code, 0, c2.stdout + c2.stderr)
    await assertSettled(r, 'bow-ctrlc', out, 1, 1)
    assert.equal(runEvents(out, 0).filter((e) => e._tag === 'RunStarted').length, 3, 'one run, continued twice')
    assert.deepEqual(record(out).filter((e) => e.type === 'started').map((e) => e.resume), [false, true])
    second.child.kill('SIGINT')
    assert.equal(await second.exited, 130)
  })

  it('a 4-trial sweep over two workers finishes when one is killed (SIGKILL) mid-trial: the other, which joined while none was waiting, continues that trial from its checkpoint (tiny DistilBERT)', { skip: needsShared }, async () => {
    const r = await redis()
    const dir = tmp()
    const out = join(dir, 'out')
    const f = sweepFile(dir, 'tiny-queue', tinyBase, `metric: {name: eval_loss, goal: minimize}\nparameters:\n  trainer.learning_rate: {values: [1.0e-3, 2.0e-3, 3.0e-3, 5.0e-3]}\n`)
    const env = { LORAPIPE_SHARED: sharedDir!, HF_HUB_OFFLINE: '1' }
    const victim = worker(r.url, env)
    // One trial at a time: the second worker, started once the first trial runs, finds nothing
    // waiting; it watches the sweep and takes the trial over when its worker dies.
    const c = start(['sweep', f, '--set', 'trainer.max_steps=8', '--set', 'trainer.save_every=2', '--queue', r.url, '--concurrency', '1', '--out', out], { env })
    const name = 'trial 0000 of tiny-queue'
    const ckpts = join(out, 'trials', '0000', 'checkpoints')
    await waitFor(() => existsSync(ckpts) && readdirSync(ckpts).some((n) => /^step-\d+$/.test(n)), 'trial 0 wrote a checkpoint', [c, victim])
    assert.match(victim.out(), new RegExp(`${name}: started \\(attempt 1\\)`))
    // The trial is held still (SIGSTOP) while the second worker starts, so that it is mid-trial when its worker dies.
    const trialPid = Number(readFileSync(join(out, 'trials', '.0000.pid'), 'utf8'))
    held.push(trialPid)
    process.kill(trialPid, 'SIGSTOP')
    const survivor = worker(r.url, env)
    await waitFor(() => survivor.out().includes('serving sweep tiny-queue'), 'the second worker watches the sweep', [c, victim, survivor])
    victim.child.kill('SIGKILL')
    process.kill(trialPid, 'SIGCONT')
    assert.equal(await c.exited, 0, c.out())
    // Continued by the survivor. Under heavy load BullMQ has been seen to count one attempt more
    // before the survivor's start (cause not found yet: no error is raised for it, which the
    // second assertion checks, since the worker says any attempt that ends on an error).
    assert.match(survivor.out(), new RegExp(`${name}: started \\(attempt [23], continuing its run folder\\)`))
    assert.doesNotMatch(survivor.out(), /attempt \d+ ended:/)
    for (const t of ['0001', '0002', '0003']) assert.match(survivor.out(), new RegExp(`trial ${t} of tiny-queue: succeeded`))
    await assertSettled(r, 'tiny-queue', out, 4, 4)
    // The trial's run folder shows two runs; the second resumed from a checkpoint, not from step 0.
    const events = runEvents(out, 0)
    const starts = events.flatMap((e, i) => (e._tag === 'RunStarted' ? [i] : []))
    assert.equal(starts.length, 2)
    const second = events.slice(starts[1])
    const resumed = second.map((e) => /resuming from .*step-\d+ \(step (\d+) of 8\)/.exec(e.message ?? '')).find(Boolean)
    assert.ok(resumed, 'the second run says it resumed from a checkpoint')
    const from = Number(resumed[1])
    assert.ok(from >= 2)
    assert.equal(Math.min(...second.filter((e) => e._tag === 'Progress').map((e) => e.step!)), from + 1, 'training went on from the checkpoint')
    const row = board(out).find((x) => x.trial === 0)!
    assert.equal(row.evaluations, 4, 'each evaluation counted once')
    survivor.child.kill('SIGINT')
    assert.equal(await survivor.exited, 130)
  })
})
