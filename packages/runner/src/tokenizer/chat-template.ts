// A model's chat template (Jinja) rendered with @huggingface/jinja, the engine transformers.js
// uses, with the variables transformers' apply_chat_template passes: messages, tools and documents
// (None), add_generation_prompt, the special tokens (bos_token, eos_token, ...), raise_exception
// and strftime_now.
//
// Where the template comes from, as transformers decides: an override (the pipeline's
// `tokenizer.chat_template`: a template, or the name of one of the tokenizer's named templates),
// else chat_template.jinja in the tokenizer folder, else tokenizer_config.json's `chat_template`:
// a string, or a list of {name, template} of which `default` is taken.
import { Environment, Interpreter, Template } from '@huggingface/jinja'
import { TokenizerError } from './errors.ts'

/** One message of a conversation, as in the `messages` column (role and content, other keys passed through). */
export interface ChatMessage {
  role: string
  content: string
  [key: string]: unknown
}

export interface RenderOptions {
  /** Append the template's cue for the assistant's turn (transformers' add_generation_prompt). */
  addGenerationPrompt: boolean
}

/** Thrown by a template's raise_exception: the template refuses the conversation (not a bug in it). */
export class ChatTemplateRefusal extends Error {
  constructor(readonly reason: string) {
    super(reason)
  }
}

// The globals Template.render sets, with our own raise_exception so that a refusal is told apart
// from an error of the engine; range and strftime_now as the library defines them.
function range(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) {
    stop = start
    start = 0
  }
  if (step === 0) throw new Error('range() step must not be zero')
  const out: number[] = []
  if (step > 0) for (let i = start; i < stop; i += step) out.push(i)
  else for (let i = start; i > stop; i += step) out.push(i)
  return out
}

function strftimeNow(format: string): string {
  const date = new Date()
  const pad2 = (n: number) => (n < 10 ? '0' + n : String(n))
  return String(format).replace(/%[YmdbBHM%]/g, (token) => {
    switch (token) {
      case '%Y': return String(date.getFullYear())
      case '%m': return pad2(date.getMonth() + 1)
      case '%d': return pad2(date.getDate())
      case '%b': return new Intl.DateTimeFormat(undefined, { month: 'short' }).format(date)
      case '%B': return new Intl.DateTimeFormat(undefined, { month: 'long' }).format(date)
      case '%H': return pad2(date.getHours())
      case '%M': return pad2(date.getMinutes())
      default: return '%'
    }
  })
}

export class ChatTemplate {
  private readonly parsed: Template['parsed']

  /**
   * @param text the Jinja source
   * @param source where it came from, for messages (e.g. ".../tokenizer_config.json (chat_template)")
   * @param variables the special tokens as template variables (bos_token, eos_token, ...)
   */
  constructor(
    readonly text: string,
    readonly source: string,
    private readonly variables: Record<string, unknown> = {},
  ) {
    try {
      this.parsed = new Template(text).parsed
    } catch (e) {
      throw new TokenizerError({ source, message: `${source}: the chat template does not parse: ${(e as Error).message}; fix the Jinja or set tokenizer.chat_template to another template` })
    }
  }

  /**
   * Renders a conversation. A template's raise_exception throws ChatTemplateRefusal; any other
   * failure of the template throws TokenizerError naming the template.
   */
  render(messages: readonly ChatMessage[], options: RenderOptions): string {
    const env = new Environment()
    const globals: Record<string, unknown> = {
      false: false,
      true: true,
      none: null,
      False: false,
      True: true,
      None: null,
      raise_exception: (message: unknown) => {
        throw new ChatTemplateRefusal(String(message))
      },
      range,
      strftime_now: strftimeNow,
      ...this.variables,
      messages,
      tools: null,
      documents: null,
      add_generation_prompt: options.addGenerationPrompt,
    }
    for (const [k, v] of Object.entries(globals)) env.set(k, v)
    try {
      return new Interpreter(env).run(this.parsed).value as string
    } catch (e) {
      if (e instanceof ChatTemplateRefusal) throw e
      throw new TokenizerError({ source: this.source, message: `${this.source}: the chat template failed while rendering: ${(e as Error).message}` })
    }
  }
}

type Json = Record<string, unknown>

/** Where to look for a template and what overrides it. */
export interface ChatTemplateSources {
  /** tokenizer_config.json's contents. */
  config: Json
  /** Path of tokenizer_config.json, for messages. */
  configFile: string
  /** Contents of chat_template.jinja beside it, when there is one. */
  jinjaFile?: { path: string; text: string }
  /** The pipeline's tokenizer.chat_template: a template, or the name of a named template. */
  override?: string
}

/** The template text and where it came from, or undefined when the tokenizer has none. */
export function resolveChatTemplate(sources: ChatTemplateSources): { text: string; source: string } | undefined {
  const { config, configFile, jinjaFile, override } = sources
  const named = namedTemplates(config.chat_template, configFile)
  if (override !== undefined) {
    if (typeof override !== 'string' || override.trim() === '') {
      throw new TokenizerError({ source: 'tokenizer.chat_template', message: `tokenizer.chat_template must be a non-empty Jinja template (or the name of one of the tokenizer's templates)` })
    }
    const byName = named?.get(override)
    if (byName !== undefined) return { text: byName, source: `${configFile} (chat_template ${JSON.stringify(override)})` }
    return { text: override, source: 'the pipeline\'s tokenizer.chat_template' }
  }
  if (jinjaFile) return { text: jinjaFile.text, source: jinjaFile.path }
  const raw = config.chat_template
  if (raw === undefined || raw === null) return undefined
  if (typeof raw === 'string') return { text: raw, source: `${configFile} (chat_template)` }
  const def = named!.get('default')
  if (def === undefined) {
    throw new TokenizerError({
      source: configFile,
      message: `${configFile}: chat_template holds several named templates (${[...named!.keys()].join(', ')}) and none is named "default"; set tokenizer.chat_template to one of these names`,
    })
  }
  return { text: def, source: `${configFile} (chat_template "default")` }
}

function namedTemplates(raw: unknown, configFile: string): Map<string, string> | undefined {
  if (raw === undefined || raw === null || typeof raw === 'string') return undefined
  const bad = () =>
    new TokenizerError({ source: configFile, message: `${configFile}: chat_template must be a string or a list of {"name": ..., "template": ...}, got ${JSON.stringify(raw).slice(0, 80)}` })
  if (!Array.isArray(raw)) throw bad()
  const out = new Map<string, string>()
  for (const item of raw) {
    if (item === null || typeof item !== 'object' || typeof item.name !== 'string' || typeof item.template !== 'string') throw bad()
    out.set(item.name, item.template)
  }
  return out
}
