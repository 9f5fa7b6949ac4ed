import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { ChatTemplate, ChatTemplateRefusal, loadCausalLmTokenizer, TokenizerError, type CausalLmTokenizer, type ChatMessage } from '../../src/tokenizer/index.ts'
import { needsShared, shared } from '../../../../tests/support/shared.ts'
import { LLAMA_CONFIG, TINY_TEMPLATE, tinyTokenizerDir } from '../support/tiny-tokenizer.ts'

const tokErr = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof TokenizerError, `expected a TokenizerError, got ${e}`)
  assert.match(e.message, re)
  return true
}

const user = (content: string): ChatMessage => ({ role: 'user', content })
const assistant = (content: string): ChatMessage => ({ role: 'assistant', content })

describe('rendering a chat template', () => {
  test('gets messages, add_generation_prompt and the special tokens as variables', () => {
    const tok = loadCausalLmTokenizer(tinyTokenizerDir({ ...LLAMA_CONFIG, chat_template: TINY_TEMPLATE }))
    assert.equal(tok.applyChatTemplate([user('ab'), assistant('c')], { addGenerationPrompt: false }), '<s>ab:c</s>')
    const t = new ChatTemplate('{{ messages | length }}{% if add_generation_prompt %}>{% endif %}|{{ bos_token }}|{{ pad_token }}', 'test', { bos_token: '<s>' })
    assert.equal(t.render([user('x')], { addGenerationPrompt: true }), '1>|<s>|')
  })

  test('tools and documents are None, as transformers passes them: `is none`, defined, and false', () => {
    const t = new ChatTemplate("{% if tools is none %}N{% endif %}{% if tools is defined %}D{% endif %}{% if not documents %}F{% endif %}", 'test')
    assert.equal(t.render([], { addGenerationPrompt: false }), 'NDF')
  })

  test('strftime_now and range are there, as in transformers', () => {
    const t = new ChatTemplate("{{ strftime_now('%Y') }}{% for i in range(3) %}{{ i }}{% endfor %}", 'test')
    assert.equal(t.render([], { addGenerationPrompt: false }), `${new Date().getFullYear()}012`)
  })

  test("a template's raise_exception is a refusal carrying its message, not an engine error", () => {
    const t = new ChatTemplate(TINY_TEMPLATE, 'test', { bos_token: '<s>', eos_token: '</s>' })
    assert.throws(() => t.render([{ role: 'system', content: 'x' }], { addGenerationPrompt: false }), (e: unknown) => e instanceof ChatTemplateRefusal && e.reason === 'System messages are not supported')
  })

  test('a template that does not parse is a TokenizerError naming where the template came from', () => {
    assert.throws(() => new ChatTemplate('{% for m in messages %}', 'the pipeline\'s tokenizer.chat_template'), tokErr(/^the pipeline's tokenizer\.chat_template: the chat template does not parse/))
  })

  test('a template failing while rendering names the template', () => {
    const t = new ChatTemplate('{{ messages[0].content.nope() }}', 'x/tokenizer_config.json (chat_template)')
    assert.throws(() => t.render([user('a')], { addGenerationPrompt: false }), tokErr(/^x\/tokenizer_config\.json \(chat_template\): the chat template failed while rendering/))
  })
})

describe('where the chat template comes from', () => {
  const named = [
    { name: 'default', template: 'D{{ messages[0].content }}' },
    { name: 'tool_use', template: 'T{{ messages[0].content }}' },
  ]
  const render = (tok: CausalLmTokenizer) => tok.applyChatTemplate([user('x')], { addGenerationPrompt: false })

  test('tokenizer_config.json chat_template as a string', () => {
    const tok = loadCausalLmTokenizer(tinyTokenizerDir({ ...LLAMA_CONFIG, chat_template: 'S{{ messages[0].content }}' }))
    assert.equal(render(tok), 'Sx')
    assert.match(tok.chatTemplate!.source, /tokenizer_config\.json \(chat_template\)$/)
  })

  test('a list of named templates: "default" is used, and an override may name another', () => {
    assert.equal(render(loadCausalLmTokenizer(tinyTokenizerDir({ ...LLAMA_CONFIG, chat_template: named }))), 'Dx')
    assert.equal(render(loadCausalLmTokenizer(tinyTokenizerDir({ ...LLAMA_CONFIG, chat_template: named }), { chatTemplate: 'tool_use' })), 'Tx')
  })

  test('named templates without "default" and no override: an error listing the names', () => {
    assert.throws(
      () => loadCausalLmTokenizer(tinyTokenizerDir({ ...LLAMA_CONFIG, chat_template: [named[1]] })),
      tokErr(/several named templates \(tool_use\) and none is named "default"; set tokenizer\.chat_template to one of these names/),
    )
  })

  test('chat_template.jinja beside tokenizer_config.json wins over its chat_template', () => {
    const tok = loadCausalLmTokenizer(tinyTokenizerDir({ ...LLAMA_CONFIG, chat_template: 'S' }, { 'chat_template.jinja': 'J{{ messages[0].content }}' }))
    assert.equal(render(tok), 'Jx')
    assert.match(tok.chatTemplate!.source, /chat_template\.jinja$/)
  })

  test("the pipeline's tokenizer.chat_template overrides the tokenizer's, and gives one to a tokenizer without", () => {
    assert.equal(render(loadCausalLmTokenizer(tinyTokenizerDir({ ...LLAMA_CONFIG, chat_template: 'S' }), { chatTemplate: 'O{{ messages[0].content }}' })), 'Ox')
    const bare = loadCausalLmTokenizer(tinyTokenizerDir(LLAMA_CONFIG), { chatTemplate: 'O' })
    assert.equal(bare.chatTemplate!.source, "the pipeline's tokenizer.chat_template")
  })

  test('a tokenizer without a template says how to set one', () => {
    const tok = loadCausalLmTokenizer(tinyTokenizerDir(LLAMA_CONFIG))
    assert.equal(tok.chatTemplate, undefined)
    assert.throws(() => render(tok), tokErr(/has no chat template .* set tokenizer\.chat_template in the pipeline/))
  })

  test('a chat_template of another shape is an error', () => {
    assert.throws(() => loadCausalLmTokenizer(tinyTokenizerDir({ ...LLAMA_CONFIG, chat_template: { default: 'x' } })), tokErr(/chat_template must be a string or a list of \{"name": \.\.\., "template": \.\.\.\}/))
  })
})

describe('parity with transformers on real templates (golden/llama-tokenizer.json)', () => {
  type Rendered = { prompt_text: string; text?: string; prompt_ids: number[]; input_ids?: number[] }
  const golden = () =>
    JSON.parse(readFileSync(shared('fixtures/golden/llama-tokenizer.json'), 'utf8')) as {
      chat: ({ messages: ChatMessage[] } & Record<string, Rendered>)[]
      generation_prompts: ({ messages: ChatMessage[] } & Record<string, Rendered>)[]
      multi_turn: { messages: ChatMessage[]; 'qwen2.5': Rendered }
      mistral_template_refuses_system: string
    }
  const dirs = { 'tiny-llama': 'fixtures/tiny-llama', 'qwen2.5': 'fixtures/tokenizers/qwen2.5' } as const
  const loaded = new Map<string, CausalLmTokenizer>()
  const load = (dir: string) => loaded.get(dir) ?? loaded.set(dir, loadCausalLmTokenizer(shared(dir))).get(dir)!

  const check = (tok: CausalLmTokenizer, messages: ChatMessage[], ref: Rendered, what: string) => {
    const promptText = tok.applyChatTemplate(messages.slice(0, ref.text === undefined ? messages.length : -1), { addGenerationPrompt: true })
    assert.equal(promptText, ref.prompt_text, `prompt text of ${what}`)
    assert.deepEqual(tok.encode(promptText, { addSpecialTokens: false }), ref.prompt_ids, `prompt ids of ${what}`)
    if (ref.text === undefined) return
    const text = tok.applyChatTemplate(messages, { addGenerationPrompt: false })
    assert.equal(text, ref.text, `text of ${what}`)
    assert.deepEqual(tok.encode(text, { addSpecialTokens: false }), ref.input_ids, `ids of ${what}`)
  }

  for (const [name, dir] of Object.entries(dirs)) {
    test(`${name}: the six chat rows and three generation prompts render and encode to the reference`, { skip: needsShared }, () => {
      const tok = load(dir)
      const g = golden()
      assert.equal(g.chat.length, 6)
      for (const row of g.chat) check(tok, row.messages, row[name]!, `chat row ${JSON.stringify(row.messages[0]!.content.slice(-30))}`)
      assert.equal(g.generation_prompts.length, 3)
      for (const row of g.generation_prompts) check(tok, row.messages, row[name]!, 'a generation prompt')
    })
  }

  test('qwen2.5: a multi-turn conversation with a system message renders and encodes to the reference', { skip: needsShared }, () => {
    const g = golden()
    check(load(dirs['qwen2.5']), g.multi_turn.messages, g.multi_turn['qwen2.5'], 'the multi-turn conversation')
  })

  test("tiny-llama: the Mistral template refuses the system message with the template's own words", { skip: needsShared }, () => {
    const g = golden()
    const tok = load(dirs['tiny-llama'])
    assert.throws(
      () => tok.applyChatTemplate(g.multi_turn.messages, { addGenerationPrompt: false }),
      (e: unknown) => e instanceof ChatTemplateRefusal && e.reason === g.mistral_template_refuses_system,
    )
  })
})
