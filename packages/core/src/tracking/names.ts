// The names `trainer.report_to` accepts, as transformers spells them. The schema takes its enum
// from here and the registry (tracking/registry.ts) must give each name a tracker, so a name is
// never accepted without something behind it.
export const TRACKER_NAMES = ['tensorboard'] as const

export type TrackerName = (typeof TRACKER_NAMES)[number]
