// Holds the UI state between events: the sink dispatches into it, the Ink app subscribes to it
// (React's useSyncExternalStore), so the reducer stays pure and the sink stays synchronous.
import type { RunEvent } from '@lorapipe/core'
import { initialState, reduce, type UiState } from './state.ts'

export interface UiStore {
  readonly get: () => UiState
  readonly dispatch: (event: RunEvent) => void
  readonly subscribe: (listener: () => void) => () => void
}

export function createStore(state: UiState = initialState()): UiStore {
  const listeners = new Set<() => void>()
  return {
    get: () => state,
    dispatch: (event) => {
      state = reduce(state, event)
      for (const l of listeners) l()
    },
    subscribe: (l) => {
      listeners.add(l)
      return () => listeners.delete(l)
    },
  }
}
