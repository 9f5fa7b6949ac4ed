import { stringify } from 'yaml'
import { compileGraph, findStageRefs, type ValidatedPipeline } from '@lorapipe/core'
import { parse, UsageError } from '../args.ts'
import { EXIT } from '../exit-codes.ts'
import { planHelp } from './help.ts'
import { load, reportInvalid } from './load.ts'

export function planOf(p: ValidatedPipeline) {
  const g = compileGraph(p)
  return {
    name: p.name,
    file: p.file,
    seed: p.seed,
    order: g.order,
    waves: g.waves,
    stages: g.order.map((id) => {
      const n = g.nodes.get(id)!
      return { id, uses: n.uses, needs: n.needs, outputs: n.spec.outputs, params: n.params }
    }),
  }
}

/** What a finetune stage trains, by stage id: PEFT's print_trainable_parameters line, or why it is not known yet. */
export type StageParameters = Record<string, { trainable: number; total: number; line: string; architecture: string } | { unknown: string }>

/**
 * The parameter counts of the finetune stages, from the model's config.json alone (local, or in the
 * hub cache: plan never downloads); a stage whose model comes from another stage is left out.
 */
export async function stageParameters(p: ValidatedPipeline): Promise<StageParameters> {
  const out: StageParameters = {}
  const finetunes = [...p.stages.values()].filter((n) => n.uses === 'finetune' && findStageRefs(n.params).length === 0)
  if (finetunes.length === 0) return out
  const [{ checkContext }, { resolveModel }, { plannedCount }] = await Promise.all([
    import('@lorapipe/runner/preflight/inputs.ts'),
    import('@lorapipe/runner/resolve/model.ts'),
    import('@lorapipe/runner/lora/planned-count.ts'),
  ])
  const ctx = checkContext(p.dir, p.seed, async () => [])
  for (const n of finetunes) {
    const params = n.params as { model?: Record<string, any>; lora?: any }
    try {
      const resolved = await resolveModel((params.model ?? {}) as never, ctx)
      out[n.id] = plannedCount(resolved, params.model ?? {}, params.lora)
    } catch (e) {
      const tag = (e as { _tag?: string })._tag
      // A model that only the hub has is counted once a run (or `lorapipe cache`) has fetched it.
      const notFetched = params.model?.path === undefined && params.model?.id !== undefined && !['ModelConfigError', 'LoraError', 'UserFileError'].includes(tag ?? '')
      out[n.id] = { unknown: notFetched ? `${params.model!.id} is not in the Hugging Face cache yet (plan does not download); counted once it is` : String((e as Error)?.message ?? e).split('\n')[0]! }
    }
  }
  return out
}

export function renderPlan(p: ValidatedPipeline, parameters: StageParameters = {}): string {
  const plan = planOf(p)
  const lines: string[] = []
  lines.push(`# Pipeline \`${plan.name}\` (${p.file}), seed ${plan.seed}`)
  lines.push(`# Resolved (extends, vars, env and --set applied; stage parameters with defaults):`)
  lines.push(stringify({ name: plan.name, seed: plan.seed, ...(p.resolved.runtime ? { runtime: p.resolved.runtime } : {}), stages: Object.fromEntries(plan.stages.map((s) => [s.id, { uses: s.uses, ...(s.needs.length ? { needs: s.needs } : {}), with: s.params }])) }).trimEnd())
  lines.push('')
  lines.push(`# Stage graph (${plan.order.length} stage${plan.order.length === 1 ? '' : 's'}):`)
  plan.stages.forEach((s, i) => lines.push(`#   ${i + 1}. ${s.id.padEnd(12)} uses ${s.uses.padEnd(10)}${s.needs.length ? ` needs ${s.needs.join(', ')}` : ''}`))
  lines.push(`# Waves (stages in one wave can run at the same time): ${plan.waves.map((w) => `[${w.join(', ')}]`).join(' -> ')}`)
  const counted = Object.entries(parameters)
  if (counted.length > 0) {
    lines.push('# Parameters (from the model config; LoRA as PEFT counts them):')
    for (const [id, c] of counted) lines.push(`#   ${id.padEnd(12)} ${'line' in c ? `${c.architecture}: ${c.line}` : `not known yet: ${c.unknown}`}`)
  }
  return lines.join('\n') + '\n'
}

export async function planCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { set: { type: 'string', multiple: true }, json: { type: 'boolean' } }, 'plan')
  if (values.help) return (process.stdout.write(planHelp), EXIT.ok)
  if (positionals.length !== 1) throw new UsageError(`expected one pipeline file, got ${positionals.length}\n\n${planHelp}`)
  const r = await load(positionals[0]!, values.set ?? [])
  if (!r.ok) {
    process.stderr.write(reportInvalid(r.error))
    return EXIT.badInput
  }
  const parameters = await stageParameters(r.pipeline)
  process.stdout.write(values.json ? JSON.stringify({ ...planOf(r.pipeline), parameters }) + '\n' : renderPlan(r.pipeline, parameters))
  return EXIT.ok
}
