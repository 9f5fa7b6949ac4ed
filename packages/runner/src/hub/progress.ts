// Download progress for the UI: bytes, total, and a smoothed speed, reported at most every ~100 ms
// (plus one final report), so a fast download does not flood the renderer.

export interface DownloadProgress {
  /** Repo id as the caller passed it. */
  repo: string
  file: string
  /** Bytes of the file now on disk (including a resumed prefix). */
  bytes: number
  /** Expected size, when known. */
  total: number | undefined
  /** Bytes per second, smoothed; absent on the first report. */
  speed?: number | undefined
  /** Seconds left at the current speed, when speed and total are known. */
  eta?: number | undefined
  /** True on the last report of a file. */
  done?: boolean
}

export type ProgressCallback = (p: DownloadProgress) => void

export interface ProgressMeter {
  update(bytes: number): void
  /** Restart from a smaller byte count (the server ignored a Range request). */
  reset(bytes: number): void
  finish(bytes: number): void
}

export function progressMeter(
  cb: ProgressCallback | undefined,
  repo: string,
  file: string,
  total: number | undefined,
  intervalMs = 100,
  now: () => number = () => performance.now(),
): ProgressMeter {
  if (!cb) return { update() {}, reset() {}, finish() {} }
  let lastT = now()
  let lastBytes = -1
  let speed: number | undefined
  const report = (bytes: number, done: boolean) => {
    const t = now()
    if (lastBytes >= 0 && t > lastT && bytes >= lastBytes) {
      const inst = ((bytes - lastBytes) * 1000) / (t - lastT)
      speed = speed === undefined ? inst : 0.7 * speed + 0.3 * inst
    }
    lastT = t
    lastBytes = bytes
    const eta = speed && total !== undefined && speed > 0 ? Math.max(0, (total - bytes) / speed) : undefined
    cb({ repo, file, bytes, total, speed, eta, ...(done ? { done: true } : {}) })
  }
  return {
    update(bytes) {
      if (lastBytes < 0 || now() - lastT >= intervalMs) report(bytes, false)
    },
    reset(bytes) {
      lastBytes = -1
      speed = undefined
      report(bytes, false)
    },
    finish(bytes) {
      report(bytes, true)
    },
  }
}
