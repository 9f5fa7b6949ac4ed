// Secrets never leave the process: every message lorapipe prints, every event it records and
// every text file it writes passes through `redact`. It removes the hub token (HF_TOKEN, the
// legacy HUGGING_FACE_HUB_TOKEN, and any token the hub client reads from its token file and
// registers here, and the queue's Redis password), anything shaped like a Hugging Face token, and
// the credential of an `Authorization` header a server may echo back in an error.
// A registered secret is cut only where it stands as a word of its own: inside a longer word
// (`WRONGPASS` for the password `WRONG`, `username-password`) it is part of someone else's text,
// and cutting it there garbles messages without hiding anything.

const secrets = new Set<string>()

// Real tokens are `hf_` and 34 letters or digits (older ones `api_...`); the length keeps names
// such as `hf_hub_cache` out.
const TOKEN_SHAPE = /\bhf_[A-Za-z0-9]{20,}\b/g
// `Authorization: Bearer <credential>` (or Basic), however a server quotes it back.
const AUTH_HEADER = /\b(Bearer|Basic)(\s+)[^\s"',;]+/gi

export const REDACTED = '[redacted]'

/** Marks a value as secret: it is cut from everything that leaves the process from now on. */
export function addSecret(value: string | undefined): void {
  // Short values would redact ordinary words; tokens are long.
  if (value && value.trim().length >= 8) secrets.add(value.trim())
}

addSecret(process.env.HF_TOKEN)
addSecret(process.env.HUGGING_FACE_HUB_TOKEN)

// Characters that continue a word: letters, digits, `_` and `-` (so `username-password` is one word).
const WORD = /[\p{L}\p{N}_-]/u
const continues = (c: string | undefined) => c !== undefined && WORD.test(c)

/** `text` with each occurrence of `secret` that is not part of a longer word replaced. */
function cutSecret(text: string, secret: string): string {
  // A secret that itself begins or ends with a non-word character has a boundary of its own there.
  const checkBefore = continues(secret[0])
  const checkAfter = continues(secret[secret.length - 1])
  let out = ''
  let from = 0
  for (let at = text.indexOf(secret); at !== -1; at = text.indexOf(secret, at + 1)) {
    if (at < from) continue
    if ((checkBefore && continues(text[at - 1])) || (checkAfter && continues(text[at + secret.length]))) continue
    out += text.slice(from, at) + REDACTED
    from = at + secret.length
  }
  return out + text.slice(from)
}

/** `s` with every secret, token-shaped string and echoed credential replaced by `[redacted]`. */
export function redact(s: string): string {
  let out = s
  for (const secret of secrets) if (out.includes(secret)) out = cutSecret(out, secret)
  return out.replace(TOKEN_SHAPE, REDACTED).replace(AUTH_HEADER, `$1$2${REDACTED}`)
}

/** The same for every string inside a value (events, records): a new value when anything changed. */
export function redactDeep<T>(v: T): T {
  if (typeof v === 'string') return redact(v) as T
  if (Array.isArray(v)) {
    const out = v.map(redactDeep)
    return (out.some((x, i) => x !== v[i]) ? out : v) as T
  }
  if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype) {
    let changed = false
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) {
      const r = redactDeep(x)
      if (r !== x) changed = true
      out[k] = r
    }
    return (changed ? out : v) as T
  }
  return v
}
