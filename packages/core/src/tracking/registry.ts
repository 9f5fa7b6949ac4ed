// Every tracker `trainer.report_to` can name. Adding one (W&B, MLflow) is a module that
// implements `Tracker` (tracker.ts) and one entry here, with its name in names.ts.
import type { TrackerName } from './names.ts'
import type { Tracker } from './tracker.ts'
import { tensorboardTracker } from './tensorboard/tracker.ts'

export const trackers: { readonly [K in TrackerName]: Tracker } = {
  tensorboard: tensorboardTracker,
}
