// `report_to: [tensorboard]`: TensorBoard event files in the run folder's `tb/<stage>/` (one
// TensorBoard run per tracked stage; `tensorboard --logdir RUN_DIR/tb`, or a sweep's folder to
// see every trial). Per stage: the scalars of its training logs and evaluations at their steps,
// its settings as hparams (`_hparams_/session_start_info`) and as Markdown text (`config`), and
// how it ended (`_hparams_/session_end_info`).
import { join } from 'node:path'
import { statSync } from 'node:fs'
import { stringify } from 'yaml'
import { makeFolder } from '../../fs/make-folder.ts'
import { TrackerUnavailable, type Tracker, type TrackedStage } from '../tracker.ts'
import { EventFolder, EventFolderProblem } from './event-folder.ts'
import { hparamsEndEvent, hparamsStartEvent, scalarsEvent, textEvent } from './messages.ts'
import { projectEvent, type TensorBoardWrite } from './projection.ts'

/** The folder in a run folder that holds the event files. */
export const TB_FOLDER = 'tb'

const HPARAMS_TAG = '_hparams_/session_start_info'
const CONFIG_TAG = 'config'

const unavailable = (path: string, reason: string, damaged: boolean, tb: string) =>
  new TrackerUnavailable({
    tracker: 'tensorboard',
    path,
    reason,
    hint: damaged
      ? `move ${path} out of ${tb} (TensorBoard then lacks what it held; the run's events.jsonl keeps every value), or drop tensorboard from trainer.report_to`
      : `make ${tb} writable, or drop tensorboard from trainer.report_to`,
  })

export const tensorboardTracker: Tracker = {
  open: ({ runDir, stages }) => {
    const tb = join(runDir, TB_FOLDER)
    try {
      // A file in the way is refused here, not turned into a folder.
      if (statSync(tb, { throwIfNoEntry: false })?.isDirectory() === false) throw new EventFolderProblem(tb, 'it is a file, not a folder', true)
      makeFolder(tb)
    } catch (e) {
      if (e instanceof EventFolderProblem) throw unavailable(e.path, e.reason, e.damaged, tb)
      throw unavailable(tb, `cannot create it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, false, tb)
    }
    const folders = new Map<string, EventFolder>()
    for (const s of stages) {
      try {
        folders.set(s.id, EventFolder.scan(join(tb, s.id)))
      } catch (e) {
        if (e instanceof EventFolderProblem) throw unavailable(e.path, e.reason, e.damaged, tb)
        throw e
      }
    }
    const byId = new Map(stages.map((s) => [s.id, s]))
    const started = new Set<string>()
    const stopped = new Set<string>()
    const problems: string[] = []

    const write = (w: TensorBoardWrite, stage: TrackedStage, folder: EventFolder) => {
      if (w.kind === 'end') {
        // A stage that wrote nothing (no training, no evaluation) gets no TensorBoard run.
        if (!started.has(stage.id)) return
        return folder.append(hparamsEndEvent(w.wallTime, folder.lastStep(), w.status), folder.lastStep(), [], w.wallTime)
      }
      if (!started.has(stage.id)) {
        started.add(stage.id)
        if (!folder.has(HPARAMS_TAG, 0)) {
          folder.append(hparamsStartEvent(w.wallTime, stage.hparams), 0, [HPARAMS_TAG], w.wallTime)
          folder.append(textEvent(w.wallTime, 0, CONFIG_TAG, configMarkdown(stage)), 0, [CONFIG_TAG], w.wallTime)
        }
      }
      const fresh = w.values.filter(([tag]) => !folder.has(tag, w.step))
      if (fresh.length > 0) folder.append(scalarsEvent(w.wallTime, w.step, fresh), w.step, fresh.map(([t]) => t), w.wallTime)
    }

    return {
      event: (e) => {
        const w = projectEvent(e)
        const stage = w && byId.get(w.stage)
        if (!w || !stage || stopped.has(stage.id)) return
        const folder = folders.get(stage.id)!
        try {
          write(w, stage, folder)
        } catch (err) {
          // The run goes on (events.jsonl keeps every value); the command warns at the end.
          stopped.add(stage.id)
          const x = err as NodeJS.ErrnoException
          problems.push(`TensorBoard logs of stage \`${stage.id}\` stopped at step ${folder.lastStep()}: cannot write ${x.path ?? folder.dir} (${x.code ?? x.message}); the run's events.jsonl has every value`)
        }
      },
      problems: () => problems,
    }
  },
}

/** The stage's settings as YAML in a Markdown code block (the text plugin renders Markdown). */
function configMarkdown(stage: TrackedStage): string {
  const yaml = stringify(stage.config, { lineWidth: 0 }).trimEnd()
  return yaml.split('\n').map((l) => `    ${l}`).join('\n')
}
