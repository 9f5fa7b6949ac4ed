// The sweep folder, as every part of lorapipe finds its way in it: the one module that names its
// files. How the sweep was started (sweep.json, so `--resume` loads the same sweep the same way),
// the resolved sweep (sweep.resolved.yaml), its events (events.jsonl), the coordinator's record
// (sweep.jsonl) and lock, the results (leaderboard.json/.csv, best.yaml), and one run folder per
// trial in trials/NNNN, with the process id of the trial that runs there beside it (.NNNN.pid).
import { existsSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'

export const SWEEP_START_FILE = 'sweep.json'
export const SWEEP_RESOLVED_FILE = 'sweep.resolved.yaml'
export const SWEEP_EVENTS_FILE = 'events.jsonl'
export const RECORD_FILE = 'sweep.jsonl'
export const SWEEP_LOCK = 'sweep.lock'
export const LEADERBOARD_JSON = 'leaderboard.json'
export const LEADERBOARD_CSV = 'leaderboard.csv'
export const BEST_FILE = 'best.yaml'
export const TRIALS_DIR = 'trials'

export const trialDirName = (n: number) => String(n).padStart(4, '0')

/** The run folder of trial `n`. */
export const trialRunDir = (sweepDir: string, n: number) => join(sweepDir, TRIALS_DIR, trialDirName(n))

/** Where a trial's process id is kept while it runs (beside its run folder, not inside it). */
export const trialPidFile = (runDir: string) => join(dirname(runDir), `.${basename(runDir)}.pid`)

/** Whether `dir` holds a sweep that was started (sweep.json is written first, the record once it runs). */
export const holdsSweep = (dir: string) => existsSync(join(dir, SWEEP_START_FILE)) || existsSync(join(dir, RECORD_FILE))
