// Help texts. Each command's text lists its arguments, options and exit codes.
export const VERSION = '0.1.0'

export const mainHelp = `lorapipe ${VERSION}: declarative LoRA fine-tuning pipelines on TensorFlow.js

Usage: lorapipe <command> [options]

Commands:
  run <pipeline.yaml>       run a pipeline (fine-tune, evaluate, compare, ...)
  validate <pipeline.yaml>  check a pipeline and report every error with file:line:column
  plan <pipeline.yaml>      show the resolved pipeline and its stage graph without running it

Options:
  -h, --help                show help (also after a command: lorapipe run --help)
  -v, --version             print the version

Exit codes: 0 ok, 1 run failed, 2 bad input (invalid pipeline or arguments), 130 interrupted.
Docs: README.md; the pipeline schema is schemas/pipeline.schema.json.
`

export const validateHelp = `Usage: lorapipe validate <pipeline.yaml> [--set key=value ...] [--json]

Checks a pipeline without running it: YAML syntax, \`extends\`, vars and env interpolation, the
schema (unknown keys, types, ranges), stage names, \`needs\`, output references and cycles.
Every error is reported with file:line:column, its path and a suggested fix.

Options:
  --set key.path=value   override a value (typed by the schema), may repeat
  --json                 print {"valid": bool, "errors": [...]} as JSON
  -h, --help             show this help

Exit codes: 0 valid, 2 invalid.
`

export const planHelp = `Usage: lorapipe plan <pipeline.yaml> [--set key=value ...] [--json]

Shows the resolved pipeline (after extends, vars, env and --set, with defaults filled in) and its
stage graph: the order, what each stage needs, and which stages can run at the same time.
Nothing is run or written.

Options:
  --set key.path=value   override a value, may repeat
  --json                 print the plan as JSON
  -h, --help             show this help

Exit codes: 0 ok, 2 invalid pipeline.
`

export const runHelp = `Usage: lorapipe run <pipeline.yaml> [--set key=value ...] [--out DIR] [--json]

Runs a pipeline. Outputs go to the run folder (--out, else output.dir, else
runs/<name>/<timestamp>): config.resolved.yaml, run.json, events.jsonl and one folder per stage
(a single-job pipeline writes its stage's files in the run folder itself). A stage is complete
when its stage.json exists. Ctrl-C stops cleanly; a second Ctrl-C exits at once.

Options:
  --set key.path=value   override a value (typed by the schema), may repeat
  --out DIR              run folder
  --resume               with --out: reuse stages that already completed in that folder
  --concurrency N        run at most N stages at once (default: all that are ready)
  --json                 print the event stream as JSON lines on stdout, nothing else
  -q, --quiet            print only warnings, errors and the final summary
  --verbose              print debug messages too
  -h, --help             show this help

Environment: LORAPIPE_BACKEND (tfjs-node-gpu | tfjs-node | wasm | cpu), HF_HOME, HF_HUB_CACHE,
HF_ENDPOINT, HF_HUB_OFFLINE, HF_TOKEN.

Exit codes: 0 succeeded, 1 a stage failed, 2 bad input, 130 interrupted.
`
