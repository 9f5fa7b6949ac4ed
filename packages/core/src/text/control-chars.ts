// Text from input (data file headers, server messages, file names, pipeline values) must not
// drive the user's terminal: an ESC or BEL echoed raw can retitle, clear or rewrite the screen.
// Everything lorapipe prints for people goes through `escapeControl`; JSON output is already
// escaped by JSON.stringify.

// C0 controls except tab and newline, DEL, and the C1 controls (0x9b is a one-byte CSI).
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g

/** Control characters as visible escapes (`ESC` -> `\x1b`); tabs and newlines are kept. */
export function escapeControl(s: string): string {
  return s.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

/** The same for one line: newlines are escaped too, so a value cannot start a line of its own. */
export function escapeControlLine(s: string): string {
  return escapeControl(s).replace(/\n/g, '\\n')
}

/** `escapeControl` on every string inside a value (an event on its way to the terminal). */
export function escapeControlDeep<T>(v: T): T {
  if (typeof v === 'string') return escapeControl(v) as T
  if (Array.isArray(v)) return v.map(escapeControlDeep) as T
  if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, escapeControlDeep(x)])) as T
  }
  return v
}
