// The terminal UI of `lorapipe sweep`: progress over the trials with an ETA, a live table of
// trials (parameters, status, step, latest and best objective; pruned and failed marked, the best
// row highlighted), and below it each running trial's panel exactly as `lorapipe run` draws a
// running stage. At the end a summary with the leaderboard's top rows and how to run the winner.
import { join } from 'node:path'
import { Box, Static } from 'ink'
import { duration, num } from '../output/format.ts'
import { paramTitles, paramValue as cell } from '../output/parameters.ts'
import { C, RunningStage, useLive, type Look } from './app.tsx'
import { better, counts, type TrialRow } from '@lorapipe/core/views/sweep.ts'
import { sweepEta, type SweepMessage, type SweepUiState } from './sweep-state.ts'
import type { SweepStore } from './sweep-store.ts'
import { bar, clock, fit, padEnd, padStart } from './text.ts'

const MAX_WIDTH = 120
/** Trial rows listed while the sweep runs (running trials and the best are always kept). */
const TABLE_ROWS = 12

const STATE_ICON: Record<TrialRow['state'], string> = { running: '●', completed: '✔', pruned: '✂', failed: '✖' }
const STATE_COLOR: Record<TrialRow['state'], string> = { running: 'cyan', completed: 'green', pruned: 'yellow', failed: 'red' }

/** Which rows to list: all when they fit; else the best, the running ones, then the latest. */
export function visibleTrials(s: SweepUiState, limit: number): TrialRow[] {
  if (s.trials.length <= limit) return [...s.trials]
  const keep = new Set<number>()
  if (s.bestTrial !== undefined) keep.add(s.bestTrial)
  for (const t of s.trials) if (t.state === 'running') keep.add(t.number)
  for (const t of [...s.trials].reverse()) {
    if (keep.size >= limit) break
    keep.add(t.number)
  }
  return s.trials.filter((t) => keep.has(t.number))
}

function TrialTable({ s, look, rows }: { s: SweepUiState; look: Look; rows: readonly TrialRow[] }) {
  const titles = paramTitles(s.parameters)
  // Fixed columns take 4 + 13 + 9 + 11 + 11 cells; parameters share what is left.
  const fixed = 4 + 13 + 9 + 11 + 11 + 2
  const room = Math.max(0, look.width - fixed)
  const shown = Math.min(titles.length, Math.max(0, Math.floor(room / 9)))
  const pw = shown > 0 ? Math.min(16, Math.floor(room / shown)) : 0
  const line = (mark: string, n: string, params: string[], status: string, step: string, latest: string, best: string) =>
    `${mark}${padStart(n, 3)} ${params.map((p) => padEnd(p, pw - 1) + ' ').join('')}${padEnd(status, 12)} ${padStart(step, 8)} ${padStart(latest, 10)} ${padStart(best, 10)}`
  return (
    <Box flexDirection="column" marginTop={1}>
      <C look={look} bold>
        {fit(line(' ', '#', titles.slice(0, shown), 'status', 'step', 'latest', 'best'), look.width)}
      </C>
      {rows.map((t) => {
        const isBest = t.number === s.bestTrial
        const params = s.parameters.slice(0, shown).map((p) => (t.assignment[p] === undefined ? '' : cell(t.assignment[p])))
        const status = `${STATE_ICON[t.state]} ${t.state}`
        const step = t.step !== undefined ? String(t.step) : ''
        const text = line(isBest ? '★' : ' ', String(t.number), params, status, step, t.latest === undefined ? '' : num(t.latest), t.best === undefined ? '' : num(t.best))
        return (
          <C key={t.number} look={look} color={isBest ? 'green' : STATE_COLOR[t.state]} bold={isBest}>
            {fit(text, look.width)}
          </C>
        )
      })}
    </Box>
  )
}

function SweepProgress({ s, now, look }: { s: SweepUiState; now: number; look: Look }) {
  const c = counts(s)
  const total = s.totalTrials
  const frac = total ? c.finished / total : 0
  const elapsed = s.startedAt === undefined ? 0 : Math.max(0, (now - s.startedAt) / 1000)
  const eta = sweepEta(s, now)
  const tail = ` ${c.finished}/${total ?? '?'} trials`
  const detail = [`${c.running} running`, `${c.completed} completed`, c.pruned > 0 ? `${c.pruned} pruned` : '', c.failed > 0 ? `${c.failed} failed` : '', `elapsed ${clock(elapsed)}`, `ETA ${eta === undefined ? '?' : clock(eta)}`]
    .filter(Boolean)
    .join(' · ')
  return (
    <Box flexDirection="column">
      <C look={look} color="cyan">
        {fit(`${total ? bar(frac, Math.max(10, Math.min(40, look.width - tail.length - 2))) : ''}${tail}`, look.width)}
      </C>
      <C look={look}>{fit(detail, look.width)}</C>
    </Box>
  )
}

function TrialPanels({ s, now, look }: { s: SweepUiState; now: number; look: Look }) {
  const running = s.trials.filter((t) => t.state === 'running' && t.run)
  return (
    <>
      {running.flatMap((t) =>
        t.run!.stages
          .filter((v) => v.status === 'running')
          .map((v) => <RunningStage key={`${t.number}/${v.id}`} v={{ ...v, id: `trial ${t.number}${t.run!.stages.length > 1 ? ` · ${v.id}` : ''}${t.resumed ? ' (resumed)' : ''}` }} now={now} look={look} />),
      )}
    </>
  )
}

function Summary({ s, look }: { s: SweepUiState; look: Look }) {
  const f = s.finished!
  const goal = s.metric?.goal ?? 'maximize'
  const ranked = s.trials.filter((t) => t.state !== 'running' && t.best !== undefined).sort((a, b) => (better(a.best, b.best, goal) ? -1 : better(b.best, a.best, goal) ? 1 : a.number - b.number))
  const rest = s.trials.filter((t) => !ranked.includes(t))
  const color = f.status === 'finished' ? 'green' : f.status === 'failed' ? 'red' : 'yellow'
  const best = s.trials.find((t) => t.number === s.bestTrial)
  return (
    <Box flexDirection="column" marginTop={1}>
      <C look={look} color={color} bold>
        {fit(`sweep ${s.sweep ?? ''} ${f.status} in ${duration(f.durationMs)}: ${f.reason}`, look.width)}
      </C>
      <TrialTable s={s} look={look} rows={[...ranked, ...rest].slice(0, TABLE_ROWS)} />
      {best && (
        <C look={look} color="green">
          {fit(`best: trial ${best.number}, ${s.metric?.name ?? 'metric'} ${best.best === undefined ? '?' : num(best.best)}`, look.width)}
        </C>
      )}
      {s.sweepDir && <C look={look}>{fit(`sweep folder: ${s.sweepDir}`, look.width)}</C>}
      {s.sweepDir && best && <C look={look}>{fit(`run the best: lorapipe run ${join(s.sweepDir, 'best.yaml')}`, look.width)}</C>}
    </Box>
  )
}

function MessageLine({ m, look }: { m: SweepMessage; look: Look }) {
  const prefix = m.level === 'error' ? '✖ error' : m.level === 'warn' ? '⚠ warning' : '·'
  return (
    <C look={look} color={m.level === 'error' ? 'red' : m.level === 'warn' ? 'yellow' : 'gray'}>
      {fit(`${prefix} ${m.text}`, look.width)}
    </C>
  )
}

export interface SweepViewProps {
  readonly state: SweepUiState
  readonly now: number
  readonly width: number
  readonly color: boolean
}

/** The whole screen for one state: pure, for tests and for the live app. */
export function SweepView({ state: s, now, width, color }: SweepViewProps) {
  const look: Look = { width: Math.max(20, Math.min(MAX_WIDTH, width)), color }
  const metric = s.metric ? `${s.metric.goal} ${s.metric.name}${s.metric.target !== undefined ? ` (target ${num(s.metric.target)})` : ''}` : ''
  return (
    <>
      <Static items={s.messages as SweepMessage[]}>{(m) => <MessageLine key={m.id} m={m} look={look} />}</Static>
      <Box flexDirection="column">
        {s.sweep && (
          <C look={look} bold>
            {fit(`lorapipe sweep ${s.sweep} · ${s.method ?? ''} · ${metric}`, look.width)}
          </C>
        )}
        {s.sweepDir && (
          <C look={look} dim>
            {fit(`→ ${s.sweepDir}`, look.width)}
          </C>
        )}
        {!s.finished && <SweepProgress s={s} now={now} look={look} />}
        {!s.finished && s.trials.length > 0 && <TrialTable s={s} look={look} rows={visibleTrials(s, TABLE_ROWS)} />}
        {!s.finished && <TrialPanels s={s} now={now} look={look} />}
        {s.finished && <Summary s={s} look={look} />}
      </Box>
    </>
  )
}

export interface LiveSweepAppProps {
  readonly store: SweepStore
  readonly color: boolean
  readonly width?: number
  readonly now?: () => number
}

/** The live app: follows the store and the terminal's width, and ticks once a second. */
export function LiveSweepApp({ store, color, width, now = Date.now }: LiveSweepAppProps) {
  const { state, columns } = useLive(store, (s) => s.finished === undefined)
  return <SweepView state={state} now={now()} width={width ?? columns} color={color} />
}
