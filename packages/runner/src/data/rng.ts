// The seeded PRNG lives in core (sweeps draw from it too); the data pipeline keeps importing it here.
export { Rng, deriveSeed, shuffle } from '@lorapipe/core/random/rng.ts'
