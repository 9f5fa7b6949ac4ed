// Runs an execution graph with Effect. Each stage is a fiber that waits for the stages it needs;
// independent stages run concurrently (up to `concurrency`), except that by default stages that
// declare the `compute` resource (training, evaluation) take turns: two trainings sharing the
// CPU would each run at half speed and report misleading throughput. A failed stage skips its dependents
// and lets unrelated stages finish. Interruption (Ctrl-C) interrupts running stages, whose scoped
// resources are released; a stage's `stage.json` is only written after it succeeded. A stage that
// breaks the contract (returns something other than its outputs, ends the process, never settles)
// fails like any other, with what it did (stage/outputs.ts, process-watch.ts); the run "succeeded"
// only when every stage is done.
import * as Cause from 'effect/Cause'
import * as Context from 'effect/Context'
import * as Deferred from 'effect/Deferred'
import * as Effect from 'effect/Effect'
import * as Exit from 'effect/Exit'
import * as HashMap from 'effect/HashMap'
import * as Layer from 'effect/Layer'
import * as Logger from 'effect/Logger'
import * as EffectLogLevel from 'effect/LogLevel'
import { mkdirSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { Events, now, type LogLevel, type RunEvent, type StageEvent } from '../events.ts'
import { findStageRefs, substituteStageRefs } from '../pipeline/refs.ts'
import type { StageNode, ValidatedPipeline } from '../pipeline/types.ts'
import { readStageRecord, stageDir, writeStageRecord } from '../run/folder.ts'
import { validateAgainst } from '../schema/validate.ts'
import type { StageContext } from '../stage/context.ts'
import { checkStageOutputs } from '../stage/outputs.ts'
import type { StageRun } from '../stage/spec.ts'
import { compileGraph } from './compile.ts'
import { CurrentStage, stageContext, watchRun, type WatchedRun, type WatchedStage } from './process-watch.ts'

/** Implementations of the built-in stages, provided by @lorapipe/runner (core has no TensorFlow.js). */
export class BuiltinStages extends Context.Tag('lorapipe/BuiltinStages')<BuiltinStages, ReadonlyMap<string, StageRun<any>>>() {}

export type StageResult =
  | { readonly status: 'done'; readonly outputs: Record<string, unknown>; readonly cached?: boolean }
  | { readonly status: 'failed'; readonly error: string }
  | { readonly status: 'skipped'; readonly reason: string }
  | { readonly status: 'interrupted' }

export interface RunResult {
  readonly status: 'succeeded' | 'failed' | 'interrupted'
  readonly stages: ReadonlyMap<string, StageResult>
  readonly runDir: string
}

export interface RunOptions {
  readonly runDir: string
  /**
   * Most stages running at once. Default: every light stage that is ready, and one `compute`
   * stage at a time. Given, it bounds all stages alike, compute stages included.
   */
  readonly concurrency?: number
  /** Reuse stages that already completed in this run folder. */
  readonly resume?: boolean
}

/** Text for an error of any kind: tagged errors explain themselves through `message`. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message || e.name
  if (typeof e === 'object' && e !== null) {
    const o = e as { message?: unknown; _tag?: unknown }
    if (typeof o.message === 'string' && o.message) return o.message
    if (typeof o._tag === 'string') return `${o._tag}: ${JSON.stringify(e)}`
  }
  return String(e)
}

export function runPipeline(p: ValidatedPipeline, opts: RunOptions): Effect.Effect<RunResult, never, Events | BuiltinStages> {
  return Effect.gen(function* () {
    const events = yield* Events
    const builtins = yield* BuiltinStages
    const graph = compileGraph(p)
    const started = Date.now()
    const results = new Map<string, StageResult>()
    const done = new Map<string, Deferred.Deferred<StageResult>>()
    for (const id of graph.order) done.set(id, yield* Deferred.make<StageResult>())
    const outputs: Record<string, Record<string, unknown>> = {}
    const publish = (e: RunEvent) => events.publish(e)
    const computeSlots = yield* Effect.makeSemaphore(opts.concurrency ?? 1)
    const watched: WatchedRun = { stages: new Set(), problems: [] }
    const unwatch = watchRun(watched)
    const env: StageRunEnv = { p, runDir: opts.runDir, outputs, builtins, publish, watched }

    yield* publish({
      _tag: 'RunStarted',
      time: now(),
      pipeline: p.name,
      file: p.file,
      runDir: opts.runDir,
      stages: graph.order.map((id) => {
        const n = graph.nodes.get(id)!
        return { id, uses: n.uses, needs: n.needs, ...(n.spec.resource ? { resource: n.spec.resource } : {}) }
      }),
    })

    const finish = (id: string, r: StageResult) =>
      Effect.sync(() => {
        results.set(id, r)
        if (r.status === 'done') outputs[id] = r.outputs
      }).pipe(Effect.zipRight(Deferred.succeed(done.get(id)!, r)))

    const runOne = (id: string): Effect.Effect<void> =>
      Effect.gen(function* () {
        const node = graph.nodes.get(id)!
        const needs = yield* Effect.forEach(node.needs, (n) => Deferred.await(done.get(n)!).pipe(Effect.map((r) => [n, r] as const)))
        const blocked = needs.find(([, r]) => r.status !== 'done')
        if (blocked) {
          const reason = `needs \`${blocked[0]}\`, which ${blocked[1].status === 'failed' ? 'failed' : blocked[1].status === 'skipped' ? 'was skipped' : 'was interrupted'}`
          yield* publish({ _tag: 'StageSkipped', time: now(), stage: id, reason })
          return yield* finish(id, { status: 'skipped', reason })
        }
        const dir = stageDir(p, opts.runDir, id)
        if (opts.resume) {
          const rec = readStageRecord(dir)
          if (rec) {
            yield* publish({ _tag: 'StageFinished', time: now(), stage: id, durationMs: 0, outputs: rec.outputs })
            return yield* finish(id, { status: 'done', outputs: rec.outputs, cached: true })
          }
        }
        const stage = runStage(env, node, dir, (r) => finish(id, r))
        yield* node.spec.resource === 'compute' ? computeSlots.withPermits(1)(stage) : stage
      })

    // Succeeded only when every stage is done: a stage with no result (the run died around it) or
    // a problem no stage could be blamed for makes the run failed.
    const statusOf = (exit: Exit.Exit<unknown, unknown>): RunResult['status'] => {
      const statuses = graph.order.map((id) => results.get(id)?.status)
      if (Exit.isInterrupted(exit) || statuses.includes('interrupted')) return 'interrupted'
      return Exit.isSuccess(exit) && watched.problems.length === 0 && statuses.every((s) => s === 'done') ? 'succeeded' : 'failed'
    }
    // RunFinished is published from a finalizer so that it is written even when interrupted.
    let status: RunResult['status'] = 'failed'
    yield* Effect.forEach(graph.order, runOne, { concurrency: opts.concurrency ?? 'unbounded', discard: true }).pipe(
      Effect.onExit((exit) =>
        Effect.forEach(watched.problems, (message) => publish({ _tag: 'Log', level: 'error', message, time: now() }), { discard: true }).pipe(
          Effect.zipRight(Effect.suspend(() => publish({ _tag: 'RunFinished', time: now(), status: (status = statusOf(exit)), durationMs: Date.now() - started, runDir: opts.runDir }))),
        ),
      ),
      Effect.ensuring(Effect.sync(unwatch)),
    )
    return { status, stages: results, runDir: opts.runDir }
  })
}

/** What a stage runs on: the executor's state that runStage reads and reports to. */
interface StageRunEnv {
  readonly p: ValidatedPipeline
  readonly runDir: string
  readonly outputs: Record<string, Record<string, unknown>>
  readonly builtins: ReadonlyMap<string, StageRun<any>>
  readonly publish: (e: RunEvent) => Effect.Effect<void>
  readonly watched: WatchedRun
}

/**
 * One stage, start to end: its parameters (stage outputs substituted, checked again, decoded),
 * its context, its body run under the contract watch, and its end recorded (stage.json only
 * after success) and published.
 */
function runStage(env: StageRunEnv, node: StageNode, dir: string, finish: (r: StageResult) => Effect.Effect<void>): Effect.Effect<void> {
  const { publish } = env
  const id = node.id
  const t0 = Date.now()
  const startedAt = new Date().toISOString()
  const failed = (error: string) =>
    publish({ _tag: 'StageFailed', time: now(), stage: id, durationMs: Date.now() - t0, error }).pipe(Effect.zipRight(finish({ status: 'failed', error })))

  return Effect.gen(function* () {
    const prepared = prepareStage(env, node)
    if ('error' in prepared) return yield* failed(prepared.error)
    mkdirSync(dir, { recursive: true })
    const controller = new AbortController()
    const ctx = stageContextOf(env, node, dir, prepared.params, controller.signal)
    yield* publish({ _tag: 'StageStarted', time: now(), stage: id, uses: node.uses })
    const watch = yield* watchStage(env.watched, node, controller)
    // On interruption (Ctrl-C) the handler runs as a finalizer: it tells Promise-based stages to
    // stop and records the stage as interrupted; no stage.json is written.
    const onInterrupt = Effect.sync(() => controller.abort()).pipe(
      Effect.zipRight(Effect.suspend(() => publish({ _tag: 'StageInterrupted', time: now(), stage: id, durationMs: Date.now() - t0 }))),
      Effect.zipRight(finish({ status: 'interrupted' })),
    )
    const exit = yield* Effect.exit(watch.run(stageBody(node, prepared.run, prepared.decoded, ctx, watch.stage)).pipe(Effect.onInterrupt(() => onInterrupt)))
    if (watch.problem() !== undefined) return yield* failed(watch.problem()!)
    if (Exit.isInterrupted(exit)) return yield* Effect.interrupt
    if (Exit.isFailure(exit)) return yield* failed(describeError(Cause.squash(exit.cause)))
    const checked = checkStageOutputs(exit.value, node.spec.outputs)
    if ('problem' in checked) return yield* failed(checked.problem)
    const out = checked.outputs
    const durationMs = Date.now() - t0
    writeStageRecord(dir, { stage: id, uses: node.uses, outputs: out, startedAt, finishedAt: new Date().toISOString(), durationMs })
    watch.succeeded()
    yield* publish({ _tag: 'StageFinished', time: now(), stage: id, durationMs, outputs: out })
    return yield* finish({ status: 'done', outputs: out })
  }).pipe(
    // A defect of the executor's own around the stage (its folder or stage.json cannot be
    // written) fails the stage with what happened, instead of ending the run without a word.
    Effect.catchAllDefect((d) => failed(describeError(d))),
  )
}

/** The stage's body and its parameters: stage outputs substituted (and checked again), decoded for a custom stage. */
function prepareStage(env: StageRunEnv, node: StageNode): { run: StageRun<any>; params: Record<string, unknown>; decoded: unknown } | { error: string } {
  const params = substituteStageRefs(node.params, env.outputs) as Record<string, unknown>
  if (findStageRefs(node.params).length > 0) {
    const errs = validateAgainst(node.spec.params, params, new Map(), { pointerPrefix: `/stages/${node.id}/with` })
    if (errs.length > 0) return { error: `parameters after substituting stage outputs are invalid: ${errs.map((d) => d.message).join('; ')}` }
  }
  const run = node.module?.stage.run ?? env.builtins.get(node.uses)
  if (!run) return { error: `built-in stage \`${node.uses}\` is not available in this installation of lorapipe` }
  if (!node.module) return { run, params, decoded: params }
  try {
    return { run, params, decoded: node.module.stage.decode(params) }
  } catch (e) {
    return { error: `parameters do not decode: ${describeError(e)}` }
  }
}

/** What the stage's body is given. */
function stageContextOf(env: StageRunEnv, node: StageNode, dir: string, params: Record<string, unknown>, signal: AbortSignal): StageContext {
  const { p, publish } = env
  const id = node.id
  return {
    stageId: id,
    pipelineName: p.name,
    pipelineDir: p.dir,
    runDir: env.runDir,
    dir,
    seed: typeof params.seed === 'number' ? params.seed : p.seed,
    runtime: p.runtime,
    inputs: Object.fromEntries(node.needs.map((n) => [n, env.outputs[n] ?? {}])),
    emit: (e) => publish({ ...e, time: now(), stage: id } as RunEvent),
    emitSync: (e: StageEvent) => Effect.runSync(publish({ ...e, time: now(), stage: id } as RunEvent)),
    log: (message, level = 'info') => publish({ _tag: 'Log', level, message, time: now(), stage: id }),
    signal,
    resolvePath: (q) => (isAbsolute(q) ? q : resolve(p.dir, q)),
  }
}

/** The body called as its kind asks: Promise code keeps the stage in its async context, so that a callback of it can be blamed. */
function stageBody(node: StageNode, run: StageRun<any>, decoded: unknown, ctx: StageContext, watch: WatchedStage): Effect.Effect<unknown, unknown> {
  return Effect.suspend(() => {
    const r = node.module ? stageContext.run(watch, () => run(decoded, ctx)) : run(decoded, ctx)
    if (Effect.isEffect(r)) return (watch.kind = 'Effect'), (r as Effect.Effect<unknown, unknown>).pipe(Effect.provide(stageLogger(ctx)))
    if (isThenable(r)) return (watch.kind = 'Promise'), fromPromise(r)
    return Effect.succeed(r) // not what a stage returns: the outputs check says what it was
  })
}

/** Effect levels as lorapipe's (Trace is debug, Fatal is error). */
const LEVELS: Record<string, LogLevel> = { All: 'debug', Trace: 'debug', Debug: 'debug', Info: 'info', Warning: 'warn', Error: 'error', Fatal: 'error' }

/**
 * A stage's `Effect.log*` as lorapipe's own log events (the stage's line in the UI and the plain
 * output, `--verbose` for debug), not Effect's logfmt on the console: the message's parts joined,
 * annotations as key=value, a cause in words.
 */
function stageLogger(ctx: StageContext) {
  const text = (v: unknown) => (typeof v === 'string' ? v : v instanceof Error ? v.message : JSON.stringify(v) ?? String(v))
  const logger = Logger.make(({ logLevel, message, annotations, cause }) => {
    const parts = (Array.isArray(message) ? message : [message]).map(text)
    for (const [k, v] of HashMap.toEntries(annotations)) parts.push(`${k}=${text(v)}`)
    if (!Cause.isEmpty(cause)) parts.push(describeError(Cause.squash(cause)))
    Effect.runSync(ctx.log(parts.join(' '), LEVELS[logLevel._tag] ?? 'info'))
  })
  return Layer.merge(Logger.replace(Logger.defaultLogger, logger), Logger.minimumLogLevel(EffectLogLevel.All))
}

/**
 * The contract watch of one stage. A contract broken where no result shows it (process.exit from
 * a timer, a body that can never settle) fails the stage: the body is interrupted (`run` races it
 * against the break), which releases its scoped resources, and `problem` says what it did.
 */
function watchStage(watched: WatchedRun, node: StageNode, controller: AbortController) {
  return Effect.map(Deferred.make<string>(), (broken) => {
    let problem: string | undefined
    let succeeded = false
    const stage: WatchedStage = {
      id: node.id,
      module: node.module?.path,
      running: true,
      fail: (message) => {
        if (!stage.running) {
          // Code the stage left behind, after it ended: a failed stage says enough already.
          if (succeeded) watched.problems.push(`stage \`${node.id}\` ${message} after it had finished (from a timer or callback it left running)`)
          return
        }
        if (problem !== undefined) return
        problem = message
        controller.abort()
        Deferred.unsafeDone(broken, Exit.succeed(message))
      },
    }
    const run = <A, E>(body: Effect.Effect<A, E>) =>
      Effect.acquireUseRelease(
        Effect.sync(() => watched.stages.add(stage)),
        () => Effect.raceFirst(Effect.scoped(body), Deferred.await(broken)).pipe(Effect.locally(CurrentStage, stage)),
        () => Effect.sync(() => (stage.running = false)),
      )
    return { stage, run, problem: () => problem, succeeded: () => void (succeeded = true) }
  })
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function'
}

/**
 * A stage's Promise as an Effect. It settles outside the stage's async context, so that what
 * Effect runs next (other stages' code) is not taken for this stage's by the process watch.
 */
function fromPromise<A>(promise: PromiseLike<A>): Effect.Effect<A, unknown> {
  return Effect.async<A, unknown>((resume) => {
    promise.then(
      (a) => stageContext.exit(() => resume(Effect.succeed(a))),
      (e: unknown) => stageContext.exit(() => resume(Effect.fail(e))),
    )
  })
}
