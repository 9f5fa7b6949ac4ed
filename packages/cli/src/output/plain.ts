// Line-oriented progress for non-terminals (CI, pipes): one line per event worth reading, no
// escape codes, no redraws. Errors and warnings go to stderr.
import type { EventSink, RunEvent } from '@lorapipe/core'
import { bytes, duration, learningRate, num } from './format.ts'
import { escapeControl } from '@lorapipe/core/text/control-chars.ts'

export interface PlainOptions {
  readonly quiet?: boolean
  readonly verbose?: boolean
  readonly out?: (line: string) => void
  readonly err?: (line: string) => void
}

export function plainSink(opts: PlainOptions = {}): EventSink {
  // Lines carry text from input (data headers, server messages): control characters are escaped.
  const toOut = opts.out ?? ((l: string) => process.stdout.write(l + '\n'))
  const toErr = opts.err ?? ((l: string) => process.stderr.write(l + '\n'))
  const out = (l: string) => toOut(escapeControl(l))
  const err = (l: string) => toErr(escapeControl(l))
  const info = (l: string) => {
    if (!opts.quiet) out(l)
  }
  const lastDownload = new Map<string, number>()
  return (e: RunEvent) => {
    const tag = 'stage' in e && e.stage ? `[${e.stage}] ` : ''
    switch (e._tag) {
      case 'RunStarted':
        return info(`run ${e.pipeline}: ${e.stages.length} stage${e.stages.length === 1 ? '' : 's'} (${e.stages.map((s) => s.id).join(', ')}) -> ${e.runDir}`)
      case 'StageStarted':
        return info(`${tag}started (${e.uses})`)
      case 'StageFinished':
        return info(`${tag}done in ${duration(e.durationMs)}`)
      case 'StageFailed':
        return err(`${tag}failed after ${duration(e.durationMs)}: ${e.error}`)
      case 'StageInterrupted':
        return err(`${tag}interrupted after ${duration(e.durationMs)}`)
      case 'StageSkipped':
        return err(`${tag}skipped: ${e.reason}`)
      case 'Progress':
        return
      case 'TrainLog':
        return info(
          `${tag}step ${e.step} epoch ${e.epoch.toFixed(2)} loss ${num(e.loss)} lr ${learningRate(e.learningRate)}${e.gradNorm !== undefined ? ` grad_norm ${num(e.gradNorm)}` : ''}${e.samplesPerSecond !== undefined ? ` ${e.samplesPerSecond.toFixed(1)} samples/s` : ''}${e.tokensPerSecond !== undefined ? ` ${e.tokensPerSecond.toFixed(0)} tokens/s` : ''}`,
        )
      case 'EvalMetrics':
        return info(`${tag}eval step ${e.step}: ${Object.entries(e.metrics).map(([k, v]) => `${k} ${num(v)}`).join(' ')}${e.best ? ' (best)' : ''}${e.replayed ? ' (before the checkpoint)' : ''}`)
      case 'Download': {
        // At most one line per file per 5 s, plus the last.
        const key = `${e.repo}/${e.file}`
        const t = Date.now()
        if (!e.done && t - (lastDownload.get(key) ?? 0) < 5000) return
        lastDownload.set(key, t)
        return info(`${tag}download ${e.repo}/${e.file}: ${bytes(e.bytes)}${e.total ? ` of ${bytes(e.total)}` : ''}${e.done ? ' done' : ''}`)
      }
      case 'Log':
        if (e.level === 'error' || e.level === 'warn') return err(`${tag}${e.level}: ${e.message}`)
        if (e.level === 'debug' && !opts.verbose) return
        return info(`${tag}${e.message}`)
      case 'RunFinished': {
        const line = `run ${e.status} in ${duration(e.durationMs)}; outputs in ${e.runDir}`
        return e.status === 'succeeded' ? out(line) : err(line)
      }
    }
  }
}
