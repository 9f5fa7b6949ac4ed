// How a view's step changes the lists in it: by copying them (`reduce*`: the view it was given
// stays as it was, which a UI store needs) or in place (`fold*`: the view is the caller's own, so
// a whole events.jsonl costs time in proportion to its length, not to its square).
export interface Lists {
  /** `list` with `item` at the end, keeping the last `keep` items. */
  readonly add: <T>(list: readonly T[], item: T, keep?: number) => readonly T[]
  /** `list` with `item` at index `i`: replacing what is there, or inserted before it. */
  readonly put: <T>(list: readonly T[], i: number, item: T, insert?: boolean) => readonly T[]
}

export const copying: Lists = {
  add: (list, item, keep = Infinity) => [...list.slice(Math.max(0, list.length + 1 - keep)), item],
  put: (list, i, item, insert = false) => [...list.slice(0, i), item, ...list.slice(insert ? i : i + 1)],
}

export const inPlace: Lists = {
  add: <T>(list: readonly T[], item: T, keep = Infinity) => {
    const l = list as T[]
    l.push(item)
    if (l.length > keep) l.splice(0, l.length - keep)
    return l
  },
  put: <T>(list: readonly T[], i: number, item: T, insert = false) => {
    ;(list as T[]).splice(i, insert ? 0 : 1, item)
    return list
  },
}
