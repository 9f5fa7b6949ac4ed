"""Optuna's side of `npm run bench:search`: TPESampler on the problems of problems.ts (the same
definitions, written again here: change both together), the same seeds and trial counts, with
trials asked and told as lorapipe's benchmark drives its samplers (sequentially, and with 4 in
flight: asked while 3 others are running, the oldest told before the next ask). Writes JSON to
stdout: per problem, sampler and in-flight count, each seed's regrets at 20/50/100 trials and its
mean CPU ms per ask over asks 90-100 (process time, as lorapipe's side measures)."""

import argparse
import json
import math
import time
import warnings

import optuna

optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

H_ALPHA = [1.0, 1.2, 3.0, 3.2]
H_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
H_P = [[x * 1e-4 for x in r] for r in [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991], [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]]
SCHEDULES = [(0.0, -3.5), (0.15, -3.0), (0.4, -4.2)]
TARGET_COST = [0.3, 0.0, 0.1]


def branin(t):
    x1 = t.suggest_float("x1", -5, 10)
    x2 = t.suggest_float("x2", 0, 15)
    b, c, s = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - s) * math.cos(x1) + 10


def hartmann6(t):
    x = [t.suggest_float(f"x{i}", 0, 1) for i in range(6)]
    return -sum(H_ALPHA[i] * math.exp(-sum(H_A[i][j] * (x[j] - H_P[i][j]) ** 2 for j in range(6))) for i in range(4))


def log_scale(t):
    lr = t.suggest_float("lr", 1e-6, 1e-1, log=True)
    rank = t.suggest_int("rank", 1, 256, log=True)
    wd = t.suggest_float("weight_decay", 1e-6, 1e-1, log=True)
    u, v, r = math.log10(lr) + 3.3, math.log10(wd) + 2.2, math.log2(rank) - 4
    return u * u + 0.3 * u * v + 0.5 * v * v + r * r / 8


def mixed(t):
    s = t.suggest_categorical("schedule", [0, 1, 2])
    target = t.suggest_categorical("target_modules", [0, 1, 2])
    lr = t.suggest_float("lr", 1e-6, 1e-1, log=True)
    dropout = t.suggest_float("dropout", 0, 0.5, step=0.05)
    bs = t.suggest_int("batch_size", 8, 128, step=8)
    offset, best_lr = SCHEDULES[s]
    u = math.log10(lr) - best_lr
    return offset + TARGET_COST[target] + u * u + 10 * (dropout - 0.1) ** 2 + abs(math.log2(bs / 32)) * 0.1


PROBLEMS = {
    "branin": (branin, 0.39788735772973816),
    "hartmann6": (hartmann6, -3.322368011415515),
    "log-scale": (log_scale, 0.0),
    "mixed": (mixed, 0.0),
}

# --samplers picks by the short name: "defaults" and "multivariate".
SAMPLERS = {
    "defaults": ("tpe (defaults)", lambda seed: optuna.samplers.TPESampler(seed=seed)),
    "multivariate": ("tpe (multivariate, constant_liar)", lambda seed: optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True)),
}


def drive(make, objective, minimum, seed, trials, in_flight, checkpoints):
    study = optuna.create_study(sampler=make(seed), direction="minimize")
    running, best, best_so_far, ask_ms = [], math.inf, [], []

    def tell_oldest():
        nonlocal best
        trial, value = running.pop(0)
        study.tell(trial, value)
        best = min(best, value)
        best_so_far.append(best)

    for _ in range(trials):
        if len(running) >= in_flight:
            tell_oldest()
        t0 = time.process_time()
        trial = study.ask()
        # Optuna samples at suggest time: the objective's suggest calls are part of the ask (the
        # functions cost microseconds next to the sampler).
        value = objective(trial)
        ask_ms.append((time.process_time() - t0) * 1000)
        running.append((trial, value))
    while running:
        tell_oldest()
    tail = ask_ms[-10:]
    return [best_so_far[c - 1] - minimum for c in checkpoints], sum(tail) / len(tail)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", type=int, default=100)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--trials", type=int, default=100)
    p.add_argument("--problems", default=",".join(PROBLEMS))
    p.add_argument("--parallel-seeds", type=int, default=None)
    p.add_argument("--in-flight", default="1,4")
    p.add_argument("--samplers", default=",".join(SAMPLERS))
    a = p.parse_args()
    checkpoints = [c for c in (20, 50, 100) if c <= a.trials]
    out = []
    for name in a.problems.split(","):
        objective, minimum = PROBLEMS[name]
        for sampler, make in (SAMPLERS[k] for k in a.samplers.split(",")):
            for in_flight in [int(x) for x in a.in_flight.split(",")]:
                regrets, ms = [], []
                n = a.seeds if in_flight == 1 or a.parallel_seeds is None else a.parallel_seeds
                for seed in range(a.first_seed, a.first_seed + n):
                    r, m = drive(make, objective, minimum, seed, a.trials, in_flight, checkpoints)
                    regrets.append(r)
                    ms.append(m)
                out.append({"problem": name, "sampler": sampler, "inFlight": in_flight, "regrets": regrets, "ms": ms})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
