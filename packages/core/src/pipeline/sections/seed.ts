// The pipeline's `seed`: the one default seed of lorapipe (a sweep's search, a dataset shuffled
// without a seed of its own, and a pipeline that names none all start from it).
export const seedSchema = { type: 'integer', minimum: 0, default: 42, description: 'Seed for data order, initialisation and dropout.' } as const

export const DEFAULT_SEED = seedSchema.default
