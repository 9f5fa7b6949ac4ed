// Help texts. Each command's text lists its arguments, options and exit codes.
import { VERSION } from '@lorapipe/core/version.ts'

export const mainHelp = `lorapipe ${VERSION}: declarative LoRA fine-tuning pipelines on TensorFlow.js

Usage: lorapipe <command> [options]

Commands:
  run <pipeline.yaml>       run a pipeline (fine-tune, evaluate, compare, ...)
  sweep <sweep.yaml>        search hyperparameters: run trials of a pipeline, rank them, keep the best
  worker --queue URL       run trials of distributed sweeps (lorapipe sweep --queue URL) on this machine
  validate <pipeline.yaml>  check a pipeline and report every error with file:line:column
  plan <pipeline.yaml>      show the resolved pipeline and its stage graph without running it
  predict --model M ...     classify texts with a model (and a LoRA adapter)
  score --model M ...       loss (and logits) of texts under a causal language model (and a LoRA adapter)
  export <run dir> --merged --out DIR
                            write a Hugging Face model folder with the run's adapter merged (or --adapter: the adapter alone)
  cache ls | rm <repo>      show or prune the Hugging Face cache
  report <run dir>          write the run's report: one HTML page with curves and tables

Options:
  -h, --help                show help (also after a command: lorapipe run --help)
  -v, --version             print the version

Exit codes: 0 ok, 1 run failed, 2 bad input (invalid pipeline or arguments), 130 interrupted.
Docs: README.md; the pipeline schema is schemas/pipeline.schema.json.
`

export const validateHelp = `Usage: lorapipe validate <pipeline.yaml | sweep.yaml> [--set key=value ...] [--json]

Checks a pipeline without running it: YAML syntax, \`extends\`, vars and env interpolation, the
schema (unknown keys, types, ranges; names from transformers, PEFT, Axolotl or Ludwig are mapped
to lorapipe's), stage names, \`needs\`, output references and cycles; then what \`run\` checks
before it starts: local files, model folders, data columns, labels against num_labels, LoRA
targets against the model's modules (when the model is local or cached; what needs a download
is listed as not checked yet), and the sweep file of a \`uses: sweep\` stage. Nothing is trained.
Every error is reported with file:line:column (or the --set argument it came from), its path and
a suggested fix.
A sweep file is checked as \`lorapipe sweep\` checks it before its first trial: its keys and
bounds, the base pipeline with --set, and the trial pipelines its parameters can produce.

Options:
  --set key.path=value   override a value (typed by the schema), may repeat
  --json                 print {"valid": bool, "errors": [...], "unchecked": [...]} as JSON
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
       lorapipe run --resume <run dir> [--accept-changes]

Runs a pipeline. Outputs go to the run folder (--out, else output.dir, else
runs/<name>/<timestamp>): config.resolved.yaml, run.json, events.jsonl and one folder per stage
(a single-job pipeline writes its stage's files in the run folder itself). A stage is complete
when its stage.json exists. With trainer.report_to: [tensorboard], TensorBoard event files
go in tb/<stage>/ (tensorboard --logdir <run dir>/tb). Ctrl-C stops cleanly; a second Ctrl-C
exits at once.

Options:
  --set key.path=value   override a value (typed by the schema), may repeat
  --out DIR              run folder: new, empty, or refused (a run folder is locked while a
                         run is in it; a folder with other files in it is never written into)
  --resume DIR           continue the run in DIR as it was started (its config.resolved.yaml and
                         stage code, not the pipeline file as it is now): stages that completed
                         are reused, training resumes from its last intact checkpoint
  --accept-changes       with --resume: a \`uses: sweep\` stage goes on with its sweep although the
                         sweep's base pipeline or stage modules changed (see lorapipe sweep --help)
  --concurrency N        run at most N stages at once, training and evaluation included
                         (default: light stages as they are ready, one training/evaluation
                         stage at a time so they do not compete for the CPU)
  --json                 print the event stream as JSON lines on stdout, nothing else
  -q, --quiet            print only warnings, errors and the final summary
  --verbose              print debug messages too
  -h, --help             show this help

Environment: LORAPIPE_BACKEND (tfjs-node-gpu | tfjs-node | wasm | cpu), HF_HOME, HF_HUB_CACHE,
HF_ENDPOINT, HF_HUB_OFFLINE, HF_TOKEN.

Exit codes: 0 succeeded, 1 a stage failed, 2 bad input, 130 interrupted.
`

export const predictHelp = `Usage: lorapipe predict [--model <folder or hub id>] [--adapter <dir>] (--text "..." ... | --input <file>) [--json]

Classifies texts with a sequence-classification model (a transformers folder or a hub id, fetched
into the Hugging Face cache), optionally with a PEFT LoRA adapter. Prints, per input, the label
(from the model's id2label), its probability and the text; with --json one object per line:
{"text": ..., "label": ..., "logits": [...], "probabilities": {label: p, ...}}. A .tsv, .csv or
.jsonl input with true labels (a label column, or --label-column) is also scored: accuracy, F1
and the confusion matrix, on stderr (with --json, a last line {"summary": ...}).

Options:
  --model DIR|ID         model folder (config.json, model.safetensors, tokenizer files) or hub id;
                         with --adapter it defaults to the base the adapter names
                         (base_model_name_or_path), as PEFT's AutoPeftModel loads it
  --revision REV         hub revision (with a hub id)
  --adapter DIR          PEFT adapter folder (adapter_config.json, adapter_model.safetensors)
  --text "..."           a text to classify, may repeat
  --input FILE           texts from a file: .txt (one per line), .tsv/.csv (header with a text or
                         sentence column), .jsonl (objects with a text field)
  --text-column NAME     the column or field that holds the text
  --label-column NAME    the column or field that holds the true label (default: label, if present)
  --batch-size N         texts per forward pass (default 32)
  --max-length N         truncate to N tokens (default: the tokenizer's model_max_length)
  --json                 JSON lines
  -h, --help             show this help

Exit codes: 0 ok, 2 bad input (missing or corrupt model, adapter or input file).
`

export const scoreHelp = `Usage: lorapipe score [--model <folder or hub id>] [--adapter <dir>] --input <file> [--json [--logits]]

Scores rows with a causal language model (llama, mistral, qwen2: a transformers folder or a hub id,
fetched into the Hugging Face cache), optionally with a PEFT LoRA adapter, in eval mode: per row
the causal-LM loss as transformers computes it (labels shifted left by one, mean cross-entropy over
the tokens whose label is not -100) and the number of those tokens; with --logits the logits of
every position. Prints, per row, its line, loss and token count (tab-separated), then the loss over
all scored tokens and its perplexity on stderr; with --json one object per line:
{"line": ..., "loss": ..., "tokens": ..., "input_ids": [...], "labels": [...], "logits": [[...], ...]}.

Rows (JSON lines, or .parquet), each one of:
  {"text": "..."}                          every token scored; EOS appended (as TRL's SFT)
  {"messages": [{"role": ..., "content": ...}, ...]}
                                           rendered with the chat template; the last (assistant)
                                           message scored
  {"prompt": "...", "completion": "..."}   the completion (and EOS) scored
  {"input_ids": [...], "labels": [...], "attention_mask": [...]}
                                           token ids as they are; labels (-100: no loss)
                                           default to the ids, -100 on padding; attention_mask
                                           (0 = padding: no logits there, printed as null)
                                           to all ones
Text is tokenized as lorapipe's SFT data is (the model folder's tokenizer.json and chat template).

Options:
  --model DIR|ID         model folder (config.json, model.safetensors or shards, tokenizer files)
                         or hub id; with --adapter it defaults to the base the adapter names
                         (base_model_name_or_path), as PEFT's AutoPeftModel loads it
  --revision REV         hub revision (with a hub id)
  --adapter DIR          PEFT adapter folder (adapter_config.json, adapter_model.safetensors)
  --input FILE           the rows to score
  --all-tokens           score every token of chat and prompt/completion rows, prompt included
                         (TRL's completion_only_loss: false)
  --chat-template T      a Jinja chat template, or a file holding one, instead of the tokenizer's
  --max-length N         cut longer rows to their first N tokens (default: none; a row longer
                         than max_position_embeddings is an error)
  --batch-size N         rows per forward pass (default 8; 1 with --logits)
  --json                 JSON lines
  --logits               with --json: the logits of every position (vocabulary-wide, float32)
  -h, --help             show this help

Environment: HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_HUB_OFFLINE (use the cache only), HF_TOKEN.

Exit codes: 0 ok, 2 bad input (missing or corrupt model, adapter or input file; a row that cannot
be scored, named by its line).
`

export const cacheHelp = `Usage: lorapipe cache ls [--json]
       lorapipe cache rm <repo id> ... [--type model|dataset]

Shows and prunes what lorapipe (or Python's huggingface_hub: the layout is the same) has
downloaded into the Hugging Face cache ($HF_HUB_CACHE, else $HF_HOME/hub, else
~/.cache/huggingface/hub).

Exit codes: 0 ok, 1 a removal failed, 2 bad input (unknown repo or command).
`

export const reportHelp = `Usage: lorapipe report <run dir> [--out FILE]

Writes one self-contained HTML page (inline CSS and SVG, opens without a network) about a run:
the stages with their status and times, training and evaluation curves (loss, accuracy, learning
rate), the evaluation table with the best row marked, timings and throughput, for a comparison
the methods side by side with their curves overlaid, and the resolved configuration. It is read
from the run folder (events.jsonl, metrics.json, comparison.json, config.resolved.yaml), so it
works for any run, also a failed or interrupted one. \`lorapipe run\` writes it at the end.

Options:
  -o, --out FILE         where to write it (default: <run dir>/report.html); an existing file
                         is replaced only if it is a report lorapipe wrote
  --force                replace an existing file that is not a lorapipe report (never a folder,
                         device, FIFO or socket)
  -h, --help             show this help

Exit codes: 0 written, 2 not a run folder or bad arguments.
`

export const sweepHelp = `Usage: lorapipe sweep <sweep.yaml> [--concurrency N] [--out DIR] [--set key=value ...] [--json] [--queue URL]
       lorapipe sweep --resume <sweep dir> [--accept-changes] [--concurrency N] [--queue URL]
       lorapipe sweep status --queue URL [--json]
       (with --queue: [--queue-password-file FILE], or LORAPIPE_QUEUE_PASSWORD in the environment)

Runs a hyperparameter sweep: trials of the sweep file's base pipeline, each an ordinary
\`lorapipe run\` in its own process, with parameters from the search (grid, random or TPE), stopped
early when the sweep's early_terminate rule prunes them. The sweep file and every trial pipeline it
can produce are validated first; an invalid sweep runs nothing (exit 2).

The sweep folder (--out, else sweeps/<name>/<timestamp>) holds sweep.resolved.yaml, sweep.json
(how it was started, with the sha256 of the sweep file, the base pipeline, the files it extends
and its stage modules), the record sweep.jsonl (every assignment and result, appended as they
happen), events.jsonl, trials/NNNN/ (run folders that \`lorapipe report\` and \`lorapipe run
--resume\` understand), leaderboard.csv, leaderboard.json and best.yaml (the best trial's
pipeline: \`lorapipe run best.yaml\`).

Ctrl-C stops every trial cleanly (their checkpoints are kept); \`--resume\` continues after Ctrl-C,
a kill or a full disk: finished trials are kept, unfinished ones continue from their last
checkpoint, and the search goes on from the record as if never stopped. A resume whose base
pipeline, extended files or stage modules changed is refused (exit 2) naming them, unless
--accept-changes: the trials from then on run under the next recipe (the leaderboard's \`recipe\`
column). The sweep file itself must be unchanged.

Options:
  --concurrency N        trials at once (default: the file's concurrency, else 1); the machine's
                         threads are divided between them
  --out DIR              sweep folder
  --set key.path=value   override a value of the base pipeline for every trial, may repeat
  --resume DIR           continue the sweep in DIR (same sweep file, which must be unchanged)
  --accept-changes       with --resume: go on although the base pipeline, a file it extends or a
                         stage module changed; the record and leaderboard mark the new recipe
  --queue URL            distribute the trials: put them on a queue in Redis
                         (redis://[user[:password]@]host:6379[/db], rediss:// for TLS) for
                         \`lorapipe worker\` processes on any machine; --out, the sweep file and its
                         base pipeline must be on a file system they all see at the same path, and
                         --concurrency is how many trials are queued at once
  --queue-password-file FILE
                         the Redis password, on the file's first line, instead of in the URL (where
                         ps shows it); or LORAPIPE_QUEUE_PASSWORD in the environment
  --retries N            with --queue: run a failed trial again up to N times, with backoff (default 2)
  --json                 print sweep events (trial run events wrapped as TrialEvent) as JSON lines
  -q, --quiet            print only warnings, errors and the final leaderboard
  --verbose              also print each trial's training lines
  -h, --help             show this help

Exit codes: 0 finished (or stopped at its target), 1 failed (too many trials failed in a row, or
none completed; or the queue's Redis cannot be reached), 2 bad input (also: Redis refused the
password or user), 130 interrupted (resumable).
`

export const workerHelp = `Usage: lorapipe worker --queue URL [--allow DIR ...] [--concurrency N] [--queue-password-file FILE] [-q]

Runs trials of distributed sweeps (\`lorapipe sweep <file> --queue URL\`) on this machine: serves the
oldest running sweep with trials waiting, one trial per process (each an ordinary \`lorapipe run\` in
the sweep's folder, which must be reachable here at the same path), and reports each evaluation and
result back through Redis. Idle workers wait for work and serve sweeps one after another.

A trial whose worker dies or freezes stops itself, and another worker continues it from its last
checkpoint. Ctrl-C stops this worker's trials cleanly and puts them back on the queue.

What a worker trusts: its own command line and environment, and the files of sweeps inside its
--allow folders. Not what it reads from Redis: a job says only which trial of which sweep to run with
which values. A sweep is served only when its folder, its sweep file, its base pipeline (and what
that extends) and its stage modules lie inside an --allow folder (symbolic links resolved); a job is
run only when its values are among the sweep file's and are those its coordinator recorded for the
trial, and the worker builds the trial's run itself, inside the sweep folder. A job that fails a
check is refused: it fails at once (not retried) with the reason, the worker logs it, nothing runs.

Options:
  --queue URL                 redis://[user[:password]@]host:6379[/db], or rediss:// for TLS (for a
                              private CA: NODE_EXTRA_CA_CERTS=ca.pem); the password is never printed
  --queue-password-file FILE  the Redis password, on the file's first line, instead of in the URL
                              (where ps shows it); or LORAPIPE_QUEUE_PASSWORD in the environment
  --allow DIR                 serve sweeps inside DIR, may repeat (default: the current folder)
  --concurrency N             trials at once (default 1); the machine's threads are divided between them
  -q, --quiet                 print nothing but errors and refused jobs
  -h, --help                  show this help

Environment (for tests and tuning): LORAPIPE_QUEUE_LOCK_MS (job lock, default 30000),
LORAPIPE_QUEUE_STALLED_MS (stalled-job check, 30000), LORAPIPE_QUEUE_LEASH_MS (a trial stops after
this long without hearing from its worker, default 60% of the lock), LORAPIPE_QUEUE_POLL_MS (1000),
LORAPIPE_QUEUE_BACKOFF_MS (first retry delay, set on the coordinator, 10000).

Exit codes: 1 the queue's Redis cannot be reached, 2 bad input (also: Redis refused the password or
user), 130 stopped (Ctrl-C).
`

export const exportHelp = `Usage: lorapipe export <run dir | adapter dir> (--merged | --adapter) --out DIR [--stage ID] [--force]

Exports what a run trained, for transformers and PEFT:
  --merged    a complete Hugging Face model folder: config.json, model.safetensors (the LoRA update
              W + scaling * B A folded into the base weights, the head included; PEFT's
              merge_and_unload + save_pretrained) and the tokenizer files. Loads with
              AutoModelForSequenceClassification (a decoder: AutoModelForCausalLM)
              .from_pretrained(DIR), no PEFT needed.
  --adapter   the PEFT adapter alone (adapter_config.json, adapter_model.safetensors), for
              PeftModel.from_pretrained(base, DIR).
The source is a run folder (the adapter of its finetune stage; its base model is the one the run
fine-tuned, a random-init base rebuilt with the run's seed) or a PEFT adapter folder (its base is
the one adapter_config.json names, a folder or a hub id). The same code as the \`uses: export\` stage.

Options:
  --out DIR    the folder to write; a new or empty one (the export is written beside it and
               renamed into place, so an interrupted export leaves nothing that looks complete)
  --force      replace the contents of a non-empty --out
  --stage ID   the finetune stage to export, when the run has several
  -h, --help   show this help

Exit codes: 0 ok, 2 bad input (not a run or adapter folder, no adapter, a non-empty --out, a base
model that cannot be loaded), 130 interrupted.
`
