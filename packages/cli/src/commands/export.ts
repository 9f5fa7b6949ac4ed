// `lorapipe export RUN_DIR (--merged | --adapter) --out DIR`: the adapter a run trained (its
// finetune stage's `adapter_dir`, from the run folder's stage records) or an adapter folder, as a
// complete Hugging Face model folder with the adapter merged into the base weights, or as the
// PEFT adapter alone. The merge is the `uses: export` stage's code (runner/stages/export.ts); the
// base model is the one the run fine-tuned (its resolved pipeline: path or hub id, labels, a
// random-init base rebuilt from the run's seed), or for an adapter folder the one its
// adapter_config.json names. Written beside DIR and renamed into place.
import { cpSync, existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { join, relative, resolve, sep } from 'node:path'
import * as Effect from 'effect/Effect'
import { loadPipeline, readRunRecord, type ValidatedPipeline } from '@lorapipe/core'
import { readStageRecord, stageDir } from '@lorapipe/core/run/folder.ts'
import { ResumeRefused, resumeSource } from '@lorapipe/core/run/resume.ts'
import { modelSchema, type ModelSection } from '@lorapipe/core/pipeline/sections/index.ts'
import { withDefaults } from '@lorapipe/core/schema/validate.ts'
import type { RuntimeSection } from '@lorapipe/core/pipeline/sections/runtime.ts'
import { parse, UsageError } from '../args.ts'
import { EXIT } from '../exit-codes.ts'
import { reportFailure } from '../errors.ts'
import { reportInvalid } from './load.ts'
import { exportHelp } from './help.ts'

/** Bad input: the message and the fix, exit 2. */
function refuse(message: string, hint?: string): number {
  process.stderr.write(`error: ${message}\n${hint ? `  hint: ${hint}\n` : ''}`)
  return EXIT.badInput
}

/** What is exported: the adapter, and for a merge the base model it was trained on. */
interface Source {
  readonly adapter: string
  readonly model: ModelSection
  readonly seed: number
  readonly runtime: RuntimeSection
  readonly tokenizerDir?: string
  readonly pipelineDir: string
  /** Where the base model came from, in words. */
  readonly from: string
}

export async function exportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { merged: { type: 'boolean' }, adapter: { type: 'boolean' }, out: { type: 'string' }, stage: { type: 'string' }, force: { type: 'boolean' } },
    'export',
  )
  if (values.help) return (process.stdout.write(exportHelp), EXIT.ok)
  if (positionals.length !== 1) throw new UsageError(`expected one run folder or adapter folder, got ${positionals.length}\n\n${exportHelp}`)
  if (values.merged === values.adapter) throw new UsageError('say what to export: --merged (a model folder with the adapter merged into the base weights) or --adapter (the PEFT adapter alone)')
  if (!values.out) throw new UsageError('--out DIR is required: the folder to write the model (or adapter) into')
  const given = positionals[0]!
  const dir = resolve(given)
  const out = resolve(values.out)

  let source: Source | number
  try {
    source = await findSource(dir, given, values.stage)
  } catch (e) {
    reportFailure(e)
    return EXIT.badInput
  }
  if (typeof source === 'number') return source
  // Never into what is read: not into the adapter, nor over it or the run folder (a subfolder of the run is fine).
  const inside = (a: string, b: string) => a === b || a.startsWith(b + sep)
  if (inside(out, source.adapter) || inside(source.adapter, out) || inside(dir, out)) {
    return refuse(`--out ${values.out} overlaps ${relative(process.cwd(), source.adapter) || source.adapter}, which the export reads`, 'choose a folder of its own, e.g. --out exported/')
  }
  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) return refuse(`--out ${values.out} is a file, not a folder`, 'name a new or empty folder')
    const entries = readdirSync(out)
    if (entries.length > 0 && !values.force) {
      const shown = entries.slice(0, 5).join(', ') + (entries.length > 5 ? `, … (${entries.length} entries)` : '')
      return refuse(`--out ${values.out} is not empty (it holds ${shown}); nothing of it was replaced`, 'choose a new or empty folder, or add --force to replace its contents')
    }
  }

  const { tempBeside } = await import('@lorapipe/runner/stages/export.ts')
  const tmp = tempBeside(out)
  const signal = new AbortController()
  const onSignal = () => signal.abort()
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    if (values.adapter) cpSync(source.adapter, tmp, { recursive: true })
    else {
      const { writeExport } = await import('@lorapipe/runner/stages/export.ts')
      const { useBackend } = await import('@lorapipe/runner/trainer/setup.ts')
      const ctx = {
        resolvePath: (p: string) => resolve(source.pipelineDir, p),
        signal: signal.signal,
        runtime: source.runtime,
        emitSync: (e: { _tag: string; level?: string; message?: string; done?: boolean; repo?: string; file?: string }) => {
          if (e._tag === 'Download' && e.done) process.stderr.write(`downloaded ${e.repo}/${e.file}\n`)
          if (e._tag === 'Log' && e.level !== 'debug') process.stderr.write(`${e.message}\n`)
        },
      }
      await useBackend(ctx)
      process.stderr.write(`base model: ${source.from}\n`)
      await writeExport({ model: source.model, adapter: source.adapter, merge: true, seed: source.seed, ...(source.tokenizerDir ? { tokenizerDir: source.tokenizerDir } : {}) }, ctx, tmp)
    }
    if (signal.signal.aborted) throw Object.assign(new Error('interrupted'), { interrupted: true })
    replaceFolder(tmp, out)
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true })
    if (signal.signal.aborted) {
      process.stderr.write(`interrupted: nothing was written to ${values.out}\n`)
      return EXIT.interrupted
    }
    reportFailure(e)
    return EXIT.badInput
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  const what = values.merged ? 'model with the adapter merged (config.json, model.safetensors, tokenizer files)' : 'PEFT adapter (adapter_config.json, adapter_model.safetensors)'
  process.stdout.write(`wrote ${values.out}: ${what}\n`)
  return EXIT.ok
}

/** `tmp` becomes `target`; what `target` held (an empty folder, or what --force replaces) is removed once it has. */
function replaceFolder(tmp: string, target: string): void {
  if (!existsSync(target)) return renameSync(tmp, target)
  const old = `${tmp}.old`
  renameSync(target, old)
  try {
    renameSync(tmp, target)
  } catch (e) {
    renameSync(old, target)
    throw e
  }
  rmSync(old, { recursive: true, force: true })
}

/** The adapter to export and its base: from an adapter folder, or a run folder's finetune stage. */
async function findSource(dir: string, given: string, stageId: string | undefined): Promise<Source | number> {
  if (!existsSync(dir)) return refuse(`${given} does not exist`, 'give a run folder (lorapipe run --out DIR) or a PEFT adapter folder (adapter_config.json)')
  if (!statSync(dir).isDirectory()) return refuse(`${given} is not a folder`, 'give a run folder (lorapipe run --out DIR) or a PEFT adapter folder (adapter_config.json)')
  const { isAdapterFolder, adapterBase } = await import('@lorapipe/runner/lora/base-model.ts')
  if (isAdapterFolder(dir)) {
    if (stageId !== undefined) throw new UsageError(`--stage picks a finetune stage of a run folder; ${given} is an adapter folder`)
    const base = adapterBase(dir)
    return { adapter: dir, model: withDefaults(modelSchema, base) as ModelSection, seed: 0, runtime: {}, pipelineDir: process.cwd(), from: `${'path' in base ? base.path : base.id} (from ${given}/adapter_config.json)` }
  }
  if (!existsSync(join(dir, 'run.json'))) return refuse(`${given} is neither a run folder (run.json) nor a PEFT adapter folder (adapter_config.json)`, 'give the folder `lorapipe run --out` wrote, or an adapter folder')
  const rec = readRunRecord(dir)
  if ('error' in rec) return refuse(rec.error)
  const src = resumeSource(dir, rec)
  if (src instanceof ResumeRefused) return refuse(src.message, src.hint)
  const r = await Effect.runPromise(Effect.either(loadPipeline(src.file, src.options)))
  if (r._tag === 'Left') {
    process.stderr.write(reportInvalid(r.left))
    return EXIT.badInput
  }
  return fromRun(r.right, dir, given, stageId)
}

/** The finetune stage of a run that wrote an adapter (the one named by --stage when several did). */
function fromRun(p: ValidatedPipeline, dir: string, given: string, stageId: string | undefined): Source | number {
  const finetunes = [...p.stages.values()].filter((s) => s.uses === 'finetune')
  if (stageId !== undefined && !finetunes.some((s) => s.id === stageId)) {
    return refuse(`the run in ${given} has no finetune stage \`${stageId}\``, finetunes.length ? `its finetune stages: ${finetunes.map((s) => s.id).join(', ')}` : 'it has no finetune stage')
  }
  const candidates = finetunes.filter((s) => stageId === undefined || s.id === stageId)
  const done = candidates.map((s) => ({ node: s, record: readStageRecord(stageDir(p, dir, s.id)) })).filter((c) => c.record !== undefined)
  const withAdapter = done.filter((c) => typeof c.record!.outputs.adapter_dir === 'string')
  if (withAdapter.length === 0) {
    if (candidates.length === 0) return refuse(`the run in ${given} has no finetune stage, so no adapter to export`)
    if (done.length === 0) return refuse(`the finetune stage of the run in ${given} has not finished, so it has no adapter yet`, `\`lorapipe run --resume ${given}\` finishes it`)
    return refuse(`the run in ${given} fine-tuned every weight (lora: null), so it has no adapter; its model folder is ${String(done[0]!.record!.outputs.model_dir)}`, 'that folder is a complete model already')
  }
  if (withAdapter.length > 1) return refuse(`the run in ${given} has several finetune stages with an adapter (${withAdapter.map((c) => c.node.id).join(', ')})`, `pick one with --stage ${withAdapter[0]!.node.id}`)
  const { node, record } = withAdapter[0]!
  const model = node.params.model as ModelSection
  const tokenizer = node.params.tokenizer as { path?: string } | undefined
  const where = model.path ? resolve(p.dir, model.path) : model.id ? `${model.id}${model.revision && model.revision !== 'main' ? `@${model.revision}` : ''}` : 'the model'
  return {
    adapter: resolve(dir, String(record!.outputs.adapter_dir)),
    model,
    seed: p.seed,
    runtime: p.runtime,
    ...(tokenizer?.path ? { tokenizerDir: resolve(p.dir, tokenizer.path) } : {}),
    pipelineDir: p.dir,
    from: `${where}${model.init === 'random' ? ' (random init, rebuilt with the run\'s seed)' : ''} (stage \`${node.id}\` of ${given})`,
  }
}
