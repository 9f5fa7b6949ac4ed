import { stringify } from 'yaml'
import { compileGraph, type ValidatedPipeline } from '@lorapipe/core'
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

export function renderPlan(p: ValidatedPipeline): string {
  const plan = planOf(p)
  const lines: string[] = []
  lines.push(`# Pipeline \`${plan.name}\` (${p.file}), seed ${plan.seed}`)
  lines.push(`# Resolved (extends, vars, env and --set applied; stage parameters with defaults):`)
  lines.push(stringify({ name: plan.name, seed: plan.seed, ...(p.resolved.runtime ? { runtime: p.resolved.runtime } : {}), stages: Object.fromEntries(plan.stages.map((s) => [s.id, { uses: s.uses, ...(s.needs.length ? { needs: s.needs } : {}), with: s.params }])) }).trimEnd())
  lines.push('')
  lines.push(`# Stage graph (${plan.order.length} stage${plan.order.length === 1 ? '' : 's'}):`)
  plan.stages.forEach((s, i) => lines.push(`#   ${i + 1}. ${s.id.padEnd(12)} uses ${s.uses.padEnd(10)}${s.needs.length ? ` needs ${s.needs.join(', ')}` : ''}`))
  lines.push(`# Waves (stages in one wave can run at the same time): ${plan.waves.map((w) => `[${w.join(', ')}]`).join(' -> ')}`)
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
  process.stdout.write(values.json ? JSON.stringify(planOf(r.pipeline)) + '\n' : renderPlan(r.pipeline))
  return EXIT.ok
}
