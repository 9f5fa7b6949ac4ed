// The sweep UI's store: the shared reducer store with the sweep reducer.
import type { SweepEvent } from '@lorapipe/core'
import { initialSweepState, reduceSweep, type SweepUiState } from './sweep-state.ts'
import { reducerStore, type Store } from './store.ts'

export type SweepStore = Store<SweepUiState, SweepEvent>

export const createSweepStore = (state: SweepUiState = initialSweepState()): SweepStore => reducerStore(reduceSweep, state)
