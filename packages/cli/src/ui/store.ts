// Holds a UI's state between events: the sink dispatches into it, the Ink app subscribes to it
// (React's useSyncExternalStore), so the reducer stays pure and the sink stays synchronous. One
// store for the run UI and the sweep UI, each with its own reducer.
import type { RunEvent } from '@lorapipe/core'
import { initialState, reduce, type UiState } from './state.ts'

export interface Store<S, E> {
  readonly get: () => S
  readonly dispatch: (event: E) => void
  readonly subscribe: (listener: () => void) => () => void
}

export function reducerStore<S, E>(reducer: (state: S, event: E) => S, state: S): Store<S, E> {
  const listeners = new Set<() => void>()
  return {
    get: () => state,
    dispatch: (event) => {
      state = reducer(state, event)
      for (const l of listeners) l()
    },
    subscribe: (l) => {
      listeners.add(l)
      return () => listeners.delete(l)
    },
  }
}

export type UiStore = Store<UiState, RunEvent>

export const createStore = (state: UiState = initialState()): UiStore => reducerStore(reduce, state)
