// The terminal UI of `lorapipe run`: messages printed once above a live area (Ink's <Static>),
// the stage graph, a panel per running stage (progress, rates, learning rate, loss sparkline,
// evaluations), downloads, and the summary that stays on screen at the end. Everything is drawn
// from `UiState` (see state.ts); lines are cut to the terminal width rather than wrapped, except
// one-line messages (the backend and why), which wrap so they can be read whole.
import { relative } from 'node:path'
import { useEffect, useState, useSyncExternalStore } from 'react'
import { Box, Static, Text, useStdout } from 'ink'
import { bytes, duration, learningRate, num } from '../output/format.ts'
import { metricOf, type DownloadView, type EvalRow, type StageStatus, type StageView } from '@lorapipe/core/views/run.ts'
import { evalColumns, timing, type Message, type UiState } from './state.ts'
import type { Store, UiStore } from './store.ts'
import { bar, clock, fit, padEnd, padStart, rate, sparkline, wrap } from './text.ts'

/** Widest the UI grows, however wide the terminal. */
const MAX_WIDTH = 100
/** Evaluations listed in a running stage's table (the best one is always kept). */
const EVAL_ROWS = 6

export interface Look {
  readonly width: number
  readonly color: boolean
}

const ICON: Record<StageStatus, string> = { waiting: '○', running: '●', done: '✔', failed: '✖', skipped: '↷', interrupted: '■' }
const COLOR: Record<StageStatus, string> = { waiting: 'gray', running: 'cyan', done: 'green', failed: 'red', skipped: 'yellow', interrupted: 'yellow' }

export function C(props: { look: Look; color?: string; bold?: boolean; dim?: boolean; children: React.ReactNode }) {
  const { look } = props
  return (
    <Text color={look.color ? props.color : undefined} bold={look.color ? props.bold : undefined} dimColor={look.color ? props.dim : undefined} wrap="truncate-end">
      {props.children}
    </Text>
  )
}

function MessageLine({ m, look }: { m: Message; look: Look }) {
  const prefix = m.level === 'error' ? '✖ error' : m.level === 'warn' ? '⚠ warning' : m.level === 'debug' ? '· debug' : '·'
  const color = m.level === 'error' ? 'red' : m.level === 'warn' ? 'yellow' : 'gray'
  // Multi-line messages (tables from `compare`) keep their lines, cut to the width so a table
  // stays a table; a one-line message (the backend and why it was chosen) wraps, to be read whole.
  const lines = m.text.split('\n').filter((l, i, a) => l.length > 0 || i < a.length - 1)
  const first = `${prefix} ${m.stage ? `[${m.stage}] ` : ''}${lines[0] ?? ''}`
  const shown = lines.length === 1 ? wrap(first, look.width, '    ') : [fit(first, look.width), ...lines.slice(1).map((l) => fit(`  ${l}`, look.width))]
  return (
    <Box flexDirection="column">
      {shown.map((l, i) => (
        <C key={i} look={look} color={i === 0 || lines.length === 1 ? color : undefined}>
          {l}
        </C>
      ))}
    </Box>
  )
}

function stageTime(v: StageView, now: number): string {
  if (v.durationMs !== undefined) return duration(v.durationMs)
  if (v.status === 'running') return clock(timing(v, now).elapsedS)
  return ''
}

/** A module stage by its file name (`../stages/x.ts` -> `x.ts`), a built-in by its name. */
const usesName = (uses: string) => uses.split('/').at(-1) ?? uses
/** What a stage row says it uses: nothing when that is its id (`finetune finetune` says it twice). */
const usesLabel = (v: StageView) => (usesName(v.uses) === v.id ? '' : usesName(v.uses))

function StageGraph({ state, now, look }: { state: UiState; now: number; look: Look }) {
  const idW = Math.min(18, Math.max(5, ...state.stages.map((s) => s.id.length)))
  const usesW = Math.min(22, Math.max(0, ...state.stages.map((s) => usesLabel(s).length)))
  const showUses = look.width >= 70 && usesW > 0
  return (
    <Box flexDirection="column">
      {state.stages.map((v) => {
        const pending = v.needs.filter((n) => state.stages.find((s) => s.id === n)?.status !== 'done')
        // Needs met, but another training or evaluation has the CPU: it waits its turn.
        const busy = v.resource === 'compute' ? state.stages.find((s) => s.resource === 'compute' && s.status === 'running') : undefined
        const what =
          v.status === 'waiting' && pending.length > 0
            ? `waiting for ${pending.join(', ')}`
            : v.status === 'waiting' && busy
              ? `waiting for ${busy.id} (one compute stage at a time)`
            : v.status === 'skipped'
              ? `skipped: ${v.detail ?? ''}`
              : v.status === 'failed'
                ? `failed: ${(v.detail ?? '').split('\n')[0]}`
                : v.status
        const head = `${ICON[v.status]} ${padEnd(v.id, idW)} ${showUses ? padEnd(usesLabel(v), usesW) + ' ' : ''}${padStart(stageTime(v, now), 7)}  `
        return (
          <Box key={v.id}>
            <C look={look} color={COLOR[v.status]}>
              {head}
            </C>
            <C look={look} color={v.status === 'failed' ? 'red' : v.status === 'running' ? 'cyan' : 'gray'}>
              {fit(what, look.width - head.length)}
            </C>
          </Box>
        )
      })}
    </Box>
  )
}

/** Column headers short enough to keep a gap: `runtime_s` and `samples_per_s` would touch their neighbours. */
const LABEL: Record<string, string> = { runtime_s: 'time (s)', samples_per_s: 'samples/s' }
const label = (c: string) => LABEL[c] ?? c
/** Every column is at least two characters wider than its header, so headers never run together. */
const colWidth = (c: string) => Math.max(10, label(c).length + 2)
const cellsLine = (cols: readonly string[], cells: readonly string[]) => cells.map((x, i) => padStart(x, colWidth(cols[i]!))).join('')
/** As many columns as fit in `room` characters. */
const fitting = (cols: readonly string[], room: number) => {
  const out: string[] = []
  let used = 0
  for (const c of cols) {
    if (used + colWidth(c) > room) break
    out.push(c)
    used += colWidth(c)
  }
  return out
}

function evalCells(r: EvalRow, cols: readonly string[]): string[] {
  return cols.map((c) => {
    const x = metricOf(r, c)
    return x === undefined ? '' : num(x)
  })
}

function EvalTable({ v, look }: { v: StageView; look: Look }) {
  const all = evalColumns(v.evals)
  const cols = fitting(all, look.width - 10).length > 0 ? fitting(all, look.width - 10) : all.slice(0, 1)
  let rows = v.evals.map((r, i) => ({ r, i })).slice(-EVAL_ROWS)
  if (v.bestEval !== undefined && !rows.some((x) => x.i === v.bestEval)) rows = [{ r: v.evals[v.bestEval]!, i: v.bestEval }, ...rows.slice(1)]
  const line = (mark: string, step: string, cells: string[]) => `${mark} ${padStart(step, 7)}${cellsLine(cols, cells)}`
  return (
    <Box flexDirection="column">
      <C look={look} bold>
        {fit(line(' ', 'step', cols.map(label)), look.width)}
      </C>
      {rows.map(({ r, i }) => {
        const best = i === v.bestEval
        return (
          <C key={i} look={look} color={best ? 'green' : undefined}>
            {fit(line(best ? '★' : ' ', String(r.step), evalCells(r, cols)) + (best ? '  best' : ''), look.width)}
          </C>
        )
      })}
    </Box>
  )
}

export function RunningStage({ v, now, look }: { v: StageView; now: number; look: Look }) {
  const p = v.progress
  const { elapsedS, etaS } = timing(v, now)
  const last = v.train.at(-1)
  const latest = v.evals.at(-1)
  const rule = `── ${v.id} `
  const lines: { text: string; color?: string }[] = []
  if (p) {
    const pct = p.totalSteps > 0 ? p.step / p.totalSteps : 0
    const tail = ` ${padStart(`${Math.floor(pct * 100)}%`, 4)}  step ${p.step}/${p.totalSteps}`
    lines.push({ text: `${bar(pct, Math.max(10, Math.min(40, look.width - tail.length - 2)))}${tail}`, color: 'cyan' })
    const parts = [
      p.epoch !== undefined ? `epoch ${p.epoch.toFixed(2)}${p.totalEpochs !== undefined ? `/${Number.isInteger(p.totalEpochs) ? p.totalEpochs : p.totalEpochs.toFixed(2)}` : ''}` : undefined,
      p.stepsPerSecond !== undefined ? `${rate(p.stepsPerSecond)} steps/s` : undefined,
      (p.samplesPerSecond ?? last?.samplesPerSecond) !== undefined ? `${rate((p.samplesPerSecond ?? last?.samplesPerSecond)!)} samples/s` : undefined,
      (p.tokensPerSecond ?? last?.tokensPerSecond) !== undefined ? `${rate((p.tokensPerSecond ?? last?.tokensPerSecond)!)} tokens/s` : undefined,
      `elapsed ${clock(elapsedS)}`,
      `ETA ${etaS === undefined ? '?' : clock(etaS)}`,
    ].filter((x): x is string => x !== undefined)
    lines.push({ text: parts.join(' · ') })
  } else lines.push({ text: `running for ${clock(elapsedS)}` })
  if (last) {
    const head = `loss ${num(last.loss)}  lr ${learningRate(last.learningRate)}  `
    lines.push({ text: head + sparkline(v.train.map((t) => t.loss), Math.min(40, look.width - head.length - 2)) })
  }
  if (latest) {
    const cols = evalColumns([latest])
    lines.push({ text: `eval @ step ${latest.step}: ${cols.map((c) => `${label(c)} ${num(metricOf(latest, c)!)}`).join('  ')}`, color: 'green' })
  }
  return (
    <Box flexDirection="column" marginTop={1}>
      <C look={look} color="cyan" bold>
        {rule + '─'.repeat(Math.max(0, Math.min(look.width, 60) - rule.length))}
      </C>
      {lines.map((l, i) => (
        <C key={i} look={look} color={l.color}>
          {fit(`  ${l.text}`, look.width)}
        </C>
      ))}
      {v.evals.length > 0 && (
        <Box marginLeft={2}>
          <EvalTable v={v} look={{ ...look, width: look.width - 2 }} />
        </Box>
      )}
    </Box>
  )
}

function Downloads({ downloads, look }: { downloads: readonly DownloadView[]; look: Look }) {
  const active = downloads.filter((d) => !d.done)
  if (active.length === 0) return null
  return (
    <Box flexDirection="column" marginTop={1}>
      <C look={look} bold>
        downloads
      </C>
      {active.map((d) => {
        const eta = d.total !== undefined && d.bytesPerSecond ? ` · ETA ${clock((d.total - d.bytes) / d.bytesPerSecond)}` : ''
        const size = `${bytes(d.bytes)}${d.total !== undefined ? ` / ${bytes(d.total)}` : ''}${d.bytesPerSecond ? ` · ${bytes(d.bytesPerSecond)}/s` : ''}${eta}`
        return (
          <C key={d.key} look={look}>
            {fit(`  ↓ ${d.repo}/${d.file}  ${size}`, look.width)}
          </C>
        )
      })}
    </Box>
  )
}

/** The final metrics of a stage: its last evaluation. */
function finalMetrics(v: StageView, cols: readonly string[]): string[] {
  const r = v.evals.at(-1)
  return r ? evalCells(r, cols) : cols.map(() => '')
}

function Summary({ state, look, reportPath }: { state: UiState; look: Look; reportPath?: string }) {
  const f = state.finished!
  const idW = Math.min(18, Math.max(5, ...state.stages.map((s) => s.id.length)))
  const cols = fitting(evalColumns(state.stages.flatMap((v) => v.evals)), look.width - idW - 21)
  const line = (cells: string[]) => `${padEnd(cells[0]!, idW)} ${padEnd(cells[1]!, 11)} ${padStart(cells[2]!, 8)}${cellsLine(cols, cells.slice(3))}`
  const rel = (x: string) => (state.runDir && x.startsWith(state.runDir) ? relative(state.runDir, x) || '.' : x)
  const outputs = state.stages.flatMap((v) =>
    Object.entries(v.outputs ?? {})
      .filter(([, x]) => typeof x === 'string' && x.startsWith('/'))
      .map(([k, x]) => `${v.id}.${k}: ${rel(x as string)}`),
  )
  const color = f.status === 'succeeded' ? 'green' : f.status === 'failed' ? 'red' : 'yellow'
  return (
    <Box flexDirection="column" marginTop={1}>
      <C look={look} color={color} bold>
        {fit(`run ${state.pipeline ?? ''} ${f.status} in ${duration(f.durationMs)}`, look.width)}
      </C>
      <C look={look} bold>
        {fit(line(['stage', 'status', 'time', ...cols.map(label)]), look.width)}
      </C>
      {state.stages.map((v) => (
        <C key={v.id} look={look} color={COLOR[v.status]}>
          {fit(line([v.id, v.status, v.durationMs !== undefined ? duration(v.durationMs) : '', ...finalMetrics(v, cols)]), look.width)}
        </C>
      ))}
      {state.runDir && <C look={look}>{fit(`outputs: ${state.runDir}`, look.width)}</C>}
      {outputs.slice(0, 8).map((o) => (
        <C key={o} look={look} dim>
          {fit(`  ${o}`, look.width)}
        </C>
      ))}
      {reportPath && <C look={look}>{fit(`report:  ${reportPath}`, look.width)}</C>}
    </Box>
  )
}

export interface RunViewProps {
  readonly state: UiState
  /** Clock for elapsed times and ETAs (ms since the epoch). */
  readonly now: number
  readonly width: number
  readonly color: boolean
  readonly reportPath?: string
}

/** The whole screen for one state: pure, for tests and for the live app. */
export function RunView({ state, now, width, color, reportPath }: RunViewProps) {
  const look: Look = { width: Math.max(20, Math.min(MAX_WIDTH, width)), color }
  return (
    <>
      <Static items={state.messages as Message[]}>{(m) => <MessageLine key={m.id} m={m} look={look} />}</Static>
      <Box flexDirection="column">
        {state.pipeline && (
          <C look={look} bold>
            {fit(`lorapipe run ${state.pipeline}${state.runDir ? ` → ${state.runDir}` : ''}`, look.width)}
          </C>
        )}
        <StageGraph state={state} now={now} look={look} />
        {!state.finished && state.stages.filter((v) => v.status === 'running').map((v) => <RunningStage key={v.id} v={v} now={now} look={look} />)}
        {!state.finished && <Downloads downloads={state.downloads} look={look} />}
        {state.finished && <Summary state={state} look={look} reportPath={reportPath} />}
      </Box>
    </>
  )
}

export function useColumns(): number {
  const { stdout } = useStdout()
  const [cols, setCols] = useState(stdout.columns || 80)
  useEffect(() => {
    const onResize = () => setCols(stdout.columns || 80)
    stdout.on('resize', onResize)
    return () => {
      stdout.off('resize', onResize)
    }
  }, [stdout])
  return cols
}

export interface LiveAppProps {
  readonly store: UiStore
  readonly color: boolean
  readonly reportPath?: string
  /** Fixed width and clock, for tests; the live app follows the terminal and the time. */
  readonly width?: number
  readonly now?: () => number
}

/**
 * What a live app needs: the store's state, the terminal's width, and a re-render once a second
 * while `running`, for elapsed times and ETAs.
 */
export function useLive<S>(store: Store<S, never>, running: (s: S) => boolean): { state: S; columns: number } {
  const state = useSyncExternalStore(store.subscribe, store.get)
  const columns = useColumns()
  const [, tick] = useState(0)
  const live = running(state)
  useEffect(() => {
    if (!live) return
    // The clock redraws; it does not keep the process alive (a run whose stages can never settle
    // must still be seen to have nothing left to wait for).
    const t = setInterval(() => tick((n) => n + 1), 1000)
    t.unref()
    return () => clearInterval(t)
  }, [live])
  return { state, columns }
}

/** The live app: follows the store, the terminal's width, and ticks once a second for elapsed times. */
export function LiveApp({ store, color, reportPath, width, now = Date.now }: LiveAppProps) {
  const { state, columns } = useLive(store, (s) => s.finished === undefined)
  return <RunView state={state} now={now()} width={width ?? columns} color={color} reportPath={reportPath} />
}
