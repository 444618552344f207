"""Mutation check of the supernets, the one-shot agents and the meta-learners: realistic bugs, each
applied alone to a copy of the project, and whether the tests notice.

Each mutant replaces one exact piece of code (it must occur exactly once; a pattern the code no
longer contains is reported STALE, never skipped silently) with the bug a researcher could write:
a sign flip, a wrong data split, a missing optimiser step, a wrong edge index, a frozen schedule,
an off-by-one budget, batch-norm statistics kept, a checkpoint key missing a field. The copy is
tested with the mutant's own test files first, then, if they all pass, with every other test file
of the modules involved; a mutant is KILLED when a test fails (or the run exceeds the timeout),
SURVIVED when every test passes. The kill rate is killed / (killed + survived).

    python scripts/mutants.py                 # every mutant (tens of minutes on two cores)
    python scripts/mutants.py --only data.query-reads-weight-half enas.zero-advantage
    python scripts/mutants.py --quick         # the mutants' own test files only
    python scripts/mutants.py --list

The project is copied (tracked and untracked, not ignored, files) to a temporary folder, so the
working tree is never touched, also when the run is killed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCOPE = ("nas_gym/supernets", "nas_gym/agents/oneshot", "nas_gym/meta")


@dataclass(frozen=True)
class Mutant:
    """One realistic bug: ``code`` (exact, once in ``file``) becomes ``mutated``."""

    id: str
    file: str
    code: str
    mutated: str
    bug: str
    tests: tuple[str, ...]


SB, DF, NETS, OS, LN, META = (
    "tests/test_supernet_backend.py",
    "tests/test_supernet_dataflow.py",
    "tests/test_supernet_nets.py",
    "tests/test_agents_oneshot.py",
    "tests/test_agents_lnas.py",
    "tests/test_meta_lamanas.py",
)
BUDGETS = "tests/test_agents_budgets.py"
B, L, O = "nas_gym/supernets/backend.py", "nas_gym/supernets/loops.py", "nas_gym/agents/oneshot"

MUTANTS = [
    # ---------------------------------------------------------------- supernet backend: data splits
    Mutant(
        "data.query-reads-weight-half",
        B,
        "out = self.measure(single_path(codes), self.val_data)",
        "out = self.measure(single_path(codes), self.train_data)",
        "a frozen query scores the weight-training half instead of the validation half",
        (DF, SB),
    ),
    Mutant(
        "data.evaluate-reads-val-half",
        B,
        "return self.measure(single_path(codes), test)[0]",
        "return self.measure(single_path(codes))[0]",
        "evaluate() scores the validation half instead of the test split",
        (DF, SB),
    ),
    Mutant(
        "data.train-query-on-val-half",
        B,
        "x, y = self.train_data.sample(rng, self.recipe.batch_size)",
        "x, y = self.val_data.sample(rng, self.recipe.batch_size)",
        "a train-mode query trains the child on the validation half",
        (DF, SB),
    ),
    Mutant(
        "data.recal-on-val-half",
        B,
        "self._recal = [self.train_data.batch(",
        "self._recal = [self.val_data.batch(",
        "batch-norm recalibration reads validation images",
        (DF, SB),
    ),
    Mutant(
        "data.halves-swapped",
        B,
        "weight_idx, val_idx = split_halves(",
        "val_idx, weight_idx = split_halves(",
        "the weights train on the half the architectures are judged on",
        (DF, SB),
    ),
    Mutant(
        "data.n-train-from-val",
        B,
        "weight_idx = np.sort(weight_idx[order[:n_train]])",
        "weight_idx = np.sort(val_idx[order[:n_train]])",
        "the n_train subset is drawn from the validation half",
        (DF, SB),
    ),
    Mutant(
        "data.val-iter-reads-train",
        B,
        "yield self.val_data.sample(rng, batch_size or self.recipe.batch_size)",
        "yield self.train_data.sample(rng, batch_size or self.recipe.batch_size)",
        "the architecture batches of the one-shot agents come from the weight-training half",
        (DF, OS),
    ),
    Mutant(
        "data.halves-overlap",
        "nas_gym/supernets/data.py",
        "np.sort(perm[n // 2 :]).astype(np.int64)",
        "np.sort(perm[n // 2 - 1 :]).astype(np.int64)",
        "one image is in both halves",
        ("tests/test_supernet_data.py", DF),
    ),
    Mutant(
        "data.normalise-multiplies",
        L,
        "x = (self.x[idx].float().div_(255.0) - self.mean) / self.std",
        "x = (self.x[idx].float().div_(255.0) - self.mean) * self.std",
        "images scaled by the std, not divided",
        (DF, SB),
    ),
    Mutant(
        "data.epoch-drops-a-batch",
        L,
        "for k in range(len(self) // batch_size):",
        "for k in range(len(self) // batch_size - 1):",
        "an epoch skips its last full batch",
        (DF, SB),
    ),
    # ---------------------------------------------------------------- batch norm and evaluation
    Mutant(
        "bn.no-reset",
        L,
        "        m.reset_running_stats()\n",
        "",
        "recalibration averages into the shared statistics instead of replacing them",
        (DF, SB),
    ),
    Mutant(
        "bn.momentum-kept",
        L,
        "        m.momentum = None  # a cumulative average over the batches\n",
        "",
        "recalibration keeps the exponential momentum (mostly the reset values)",
        (DF, SB),
    ),
    Mutant(
        "bn.recal-in-eval-mode",
        L,
        "        m.momentum = None  # a cumulative average over the batches\n    net.train()",
        "        m.momentum = None  # a cumulative average over the batches\n    net.eval()",
        "recalibration runs in eval mode, so no statistic is collected",
        (DF, SB),
    ),
    Mutant(
        "bn.not-restored",
        B,
        "            restore_bn_state(self.network, saved)",
        "            pass",
        "a frozen query leaves its child's statistics in the shared network",
        (SB, DF),
    ),
    Mutant(
        "bn.evaluate-in-train-mode",
        L,
        '    given ``(input, label)`` batches), in eval mode."""\n    net.eval()',
        '    given ``(input, label)`` batches), in eval mode."""\n    net.train()',
        "evaluation normalises with batch statistics (and moves the running ones)",
        (SB, DF),
    ),
    # ---------------------------------------------------------------- training loops and clock
    Mutant(
        "train.no-optimizer-step",
        L,
        "        nn.utils.clip_grad_norm_(params, grad_clip)\n    opt.step()",
        "        nn.utils.clip_grad_norm_(params, grad_clip)",
        "the shared training step never steps",
        (SB, DF),
    ),
    Mutant(
        "train.gradient-ascent",
        L,
        "        loss = F.cross_entropy(logits.float(), y)\n    loss.backward()",
        "        loss = F.cross_entropy(logits.float(), y)\n    (-loss).backward()",
        "the training step climbs the loss",
        (SB, NETS),
    ),
    Mutant(
        "train.grads-accumulate",
        L,
        "    net.train()\n    opt.zero_grad(set_to_none=True)",
        "    net.train()",
        "gradients are never cleared between steps",
        (SB,),
    ),
    Mutant(
        "clock.training-as-forward",
        B,
        "simulated_seconds(macs, trained, backward=True)",
        "simulated_seconds(macs, trained, backward=False)",
        "a train-mode query charges its training as forward passes only",
        (SB,),
    ),
    Mutant(
        "clock.charge-paid-twice",
        B,
        "        self._pending_s = 0.0\n        return Record(",
        "        return Record(",
        "charged training seconds are paid by every later query, not once",
        (SB, OS),
    ),
    Mutant(
        "cache.stale-after-training",
        B,
        "            self._measured.clear()  # the weights moved: earlier measurements are stale\n",
        "",
        "a train-mode query keeps the scores measured before its training",
        (SB,),
    ),
    Mutant(
        "cache.stale-after-one-shot",
        B,
        "        self.modified = True\n        self._measured.clear()",
        "        self.modified = True",
        "weights_changed() keeps the scores measured under the old weights",
        (SB, OS),
    ),
    # ---------------------------------------------------------------- checkpoints and pretraining
    Mutant(
        "ckpt.key-ignores-seed",
        B,
        '"seed": int(seed),',
        "",
        "every seed of a study reuses one pretrained supernet",
        (DF, SB),
    ),
    Mutant(
        "ckpt.key-ignores-pixels",
        B,
        'return f"{len(y)}:{crc(y):08x}:{crc(x):08x}"',
        'return f"{len(y)}:{crc(y):08x}"',
        "other training images under the same name reuse the checkpoint",
        (DF,),
    ),
    Mutant(
        "ckpt.key-ignores-n-train",
        B,
        '            self.spec["n_train"] = len(weight_idx)\n',
        "            pass\n",
        "a subset-trained supernet shares the whole half's checkpoint",
        (DF, SB),
    ),
    Mutant(
        "ckpt.spec-not-checked",
        "nas_gym/supernets/checkpoint.py",
        'if spec is None or ckpt["spec"] == _plain(spec):',
        "if True:",
        "a checkpoint of another recipe is loaded silently",
        (SB,),
    ),
    Mutant(
        "pretrain.resume-from-zero",
        "nas_gym/supernets/pretrain.py",
        'start, spec = int(ckpt["epoch"]), ckpt["spec"]',
        'start, spec = 0, ckpt["spec"]',
        "a cached or killed pretraining starts over",
        (SB,),
    ),
    Mutant(
        "pretrain.lr-frozen",
        "nas_gym/supernets/pretrain.py",
        "return self.lr_min + 0.5 * (self.lr - self.lr_min) * (1 + math.cos(math.pi * step / max(total, 1)))",
        "return self.lr",
        "the cosine learning-rate schedule never anneals",
        (SB,),
    ),
    # ---------------------------------------------------------------- networks
    Mutant(
        "net.mixed-weights-ignored",
        "nas_gym/supernets/cells.py",
        "                    y = weights[e, o] * y\n",
        "                    pass\n",
        "a mixed or gated path ignores its weights",
        (NETS, OS),
    ),
    Mutant(
        "ticket.no-rewind",
        "nas_gym/supernets/ticket.py",
        "            rewind(params, init)\n",
        "",
        "lottery-ticket rounds keep training the trained weights instead of rewinding",
        ("tests/test_supernet_ticket.py",),
    ),
    Mutant(
        "ticket.prunes-largest",
        "nas_gym/supernets/ticket.py",
        "torch.topk(scores, alive - int(keep), largest=False)",
        "torch.topk(scores.masked_fill(scores.isinf(), -1.0), alive - int(keep), largest=True)",
        "magnitude pruning removes the largest weights",
        ("tests/test_supernet_ticket.py",),
    ),
    # ---------------------------------------------------------------- the one-shot loop
    Mutant(
        "loop.arch-step-on-train-half",
        f"{O}/loop.py",
        "val = next(val_it) if",
        "val = next(train_it) if",
        "architecture steps read the weight-training half",
        (DF, OS),
    ),
    Mutant(
        "loop.weight-step-on-val-half",
        f"{O}/loop.py",
        "train = next(train_it)",
        "train = next(val_it)",
        "weight steps read the validation half",
        (DF, OS),
    ),
    Mutant(
        "loop.no-weight-step",
        f"{O}/loop.py",
        "        sn.loss(path, x, y).backward()\n        clip_and_step(opt, self.grad_clip)",
        "        sn.loss(path, x, y).backward()",
        "the shared weights never step",
        (OS, DF),
    ),
    Mutant(
        "loop.lr-frozen",
        f"{O}/loop.py",
        'g["lr"] = self.weight_lr(t)',
        'g["lr"] = self.w_lr',
        "the weights' cosine schedule never anneals",
        (OS,),
    ),
    Mutant(
        "loop.epochs-overshoot",
        f"{O}/loop.py",
        "                    if budget.epochs is not None and epochs() >= budget.epochs:\n"
        "                        break\n",
        "",
        "an epochs budget finishes its round: more weight steps than the budget",
        (BUDGETS, OS),
    ),
    Mutant(
        "loop.cache-not-invalidated",
        f"{O}/loop.py",
        "                backend.weights_changed()  # the weights moved: cached measurements are stale\n",
        "",
        "queries after training return scores measured under the old weights",
        (OS, SB),
    ),
    Mutant(
        "loop.mask-ignored",
        f"{O}/loop.py",
        "return torch.softmax(masked_logits(logits / tau, mask), dim=-1)",
        "return torch.softmax(logits / tau, dim=-1)",
        "masked options (the zero op) keep probability",
        (OS,),
    ),
    Mutant(
        "loop.straight-through-without-gradient",
        f"{O}/loop.py",
        "return hard - soft.detach() + soft, codes",
        "return hard, codes",
        "GDAS's hard sample carries no gradient",
        (OS,),
    ),
    # ---------------------------------------------------------------- the agents
    Mutant(
        "darts.alpha-never-steps",
        f"{O}/darts.py",
        "            self.alpha.grad = self.unrolled_grad(sn, (x, y), train, w_opt)\n        self.a_opt.step()",
        "            self.alpha.grad = self.unrolled_grad(sn, (x, y), train, w_opt)",
        "DARTS never steps alpha",
        (OS,),
    ),
    Mutant(
        "darts.hessian-sign",
        f"{O}/darts.py",
        "return d_alpha - xi * (hess[0] - hess[1]) / (2 * eps)",
        "return d_alpha + xi * (hess[0] - hess[1]) / (2 * eps)",
        "second-order DARTS with the Hessian term's sign flipped",
        (OS, LN),
    ),
    Mutant(
        "snas.alpha-never-steps",
        f"{O}/snas.py",
        "        clip_and_step(opt, self.grad_clip)\n        self.a_opt.step()",
        "        clip_and_step(opt, self.grad_clip)",
        "SNAS never steps alpha",
        (OS,),
    ),
    Mutant(
        "snas.temperature-frozen",
        f"{O}/snas.py",
        "return self.tau[0] * (self.tau[1] / self.tau[0]) ** t",
        "return self.tau[0]",
        "SNAS's temperature never anneals",
        (OS,),
    ),
    Mutant(
        "gdas.temperature-frozen",
        f"{O}/gdas.py",
        "return self.tau[0] - (self.tau[0] - self.tau[1]) * t",
        "return self.tau[0]",
        "GDAS's temperature never anneals",
        (OS,),
    ),
    Mutant(
        "gdas.alpha-gradient-ascent",
        f"{O}/gdas.py",
        "        sn.loss(path, x, y).backward()\n        self.a_opt.step()\n        return codes",
        "        (-sn.loss(path, x, y)).backward()\n        self.a_opt.step()\n        return codes",
        "GDAS climbs the validation loss",
        (OS,),
    ),
    Mutant(
        "enas.zero-advantage",
        f"{O}/enas.py",
        "self.baseline -= (1 - self.baseline_decay) * (self.baseline - reward)",
        "self.baseline = reward",
        "ENAS's advantage is always zero",
        (OS,),
    ),
    Mutant(
        "enas.sign",
        f"{O}/enas.py",
        "(-(reward - self.baseline) * logp).backward()",
        "((reward - self.baseline) * logp).backward()",
        "ENAS's policy gradient has the wrong sign",
        (OS,),
    ),
    Mutant(
        "proxyless.sign",
        f"{O}/proxyless.py",
        "self.alpha.grad = torch.as_tensor(grad, dtype=self.alpha.dtype, device=self.alpha.device)",
        "self.alpha.grad = torch.as_tensor(-grad, dtype=self.alpha.dtype, device=self.alpha.device)",
        "ProxylessNAS's gate gradient with the sign flipped",
        (OS,),
    ),
    Mutant(
        "parsec.sign",
        f"{O}/parsec.py",
        "        (-total).backward()",
        "        total.backward()",
        "PARSEC's prior moves away from the likely children",
        (OS,),
    ),
    Mutant(
        "parsec.uniform-importance",
        f"{O}/parsec.py",
        "w = torch.softmax(torch.tensor(loglik, dtype=torch.float64), 0).to(probs.dtype)",
        "w = torch.full((len(loglik),), 1.0 / len(loglik)).to(probs.dtype)",
        "PARSEC ignores the children's likelihoods",
        (OS,),
    ),
    Mutant(
        "advantagenas.wrong-edge",
        f"{O}/advantagenas.py",
        "return d_reward_d_gate[torch.arange(len(codes)), torch.as_tensor(codes)]",
        "return d_reward_d_gate[torch.arange(len(codes)).roll(1), torch.as_tensor(codes)]",
        "AdvantageNAS takes each edge's advantage from its neighbour",
        (OS, "tests/test_toy_advantagenas.py"),
    ),
    Mutant(
        "advantagenas.sign",
        f"{O}/advantagenas.py",
        "(-(torch.as_tensor(adv, dtype=logp.dtype, device=logp.device) * logp).sum()).backward()",
        "((torch.as_tensor(adv, dtype=logp.dtype, device=logp.device) * logp).sum()).backward()",
        "AdvantageNAS's policy gradient with the sign flipped",
        (OS, "tests/test_toy_advantagenas.py"),
    ),
    Mutant(
        "reinforce-supernet.reward-is-loss",
        f"{O}/advantagenas.py",
        "reward = -sn.loss(gated(gates, active=gates.detach() > 0), x, y)",
        "reward = sn.loss(gated(gates, active=gates.detach() > 0), x, y)",
        "the reward is the loss, not its negative",
        (OS, "tests/test_toy_advantagenas.py"),
    ),
    Mutant(
        "lnas.prunes-largest",
        f"{O}/lnas.py",
        "order = torch.argsort(mag.flatten())[:n_prune]",
        "order = torch.argsort(mag.flatten().masked_fill(mag.flatten().isinf(), -1.0), descending=True)[:n_prune]",
        "LNAS prunes the ops of largest |alpha|",
        (LN,),
    ),
    Mutant(
        "lnas.pruned-ops-run",
        f"{O}/lnas.py",
        "        return Path(weights, active, False)",
        "        return super().mix(weights)",
        "pruned ops still run (weight 0) and cost time",
        (LN,),
    ),
    Mutant(
        "lnas.no-query-kept",
        f"{O}/lnas.py",
        "queries = None if budget.queries is None else budget.queries - 1",
        "queries = budget.queries",
        "the retrained cell's query comes on top of the budget",
        (BUDGETS, LN),
    ),
    # ---------------------------------------------------------------- MetaNAS / LAMANAS
    Mutant(
        "meta.reptile-direction",
        "nas_gym/meta/lamanas.py",
        "p.add_(torch.stack([t[k] for t in tasks]).mean(0) - p, alpha=lr)",
        "p.add_(p - torch.stack([t[k] for t in tasks]).mean(0), alpha=lr)",
        "Reptile steps away from the adapted weights",
        (META,),
    ),
    Mutant(
        "meta.phi-never-meta-updated",
        "nas_gym/meta/lamanas.py",
        "                _reptile(list(self.loss_net.parameters()), phis, cfg.phi_meta_lr)\n",
        "                pass\n",
        "LAMANAS's loss network never changes (as in the authors' code)",
        (META,),
    ),
    Mutant(
        "meta.phi-task-step-missing",
        "nas_gym/meta/lamanas.py",
        "                p.grad = g\n            opt.step()\n        return loss_net",
        "                p.grad = g\n        return loss_net",
        "the proxy's gradient never reaches phi",
        (META,),
    ),
    Mutant(
        "meta.alpha-not-adapted",
        "nas_gym/meta/lamanas.py",
        "            w_opt.step()\n            a_opt.step()",
        "            w_opt.step()",
        "the task learner never adapts alpha",
        (META,),
    ),
    Mutant(
        "meta.lamanas-adapts-with-ce",
        "nas_gym/meta/lamanas.py",
        "loss = self.task_loss(net(x, self.path(alpha)), y, loss_net)",
        "loss = self.task_loss(net(x, self.path(alpha)), y, None)",
        "LAMANAS adapts with cross-entropy, never its learned loss",
        (META,),
    ),
    Mutant(
        "meta.validation-on-train-tasks",
        "nas_gym/meta/lamanas.py",
        "res = self.meta_test(val, val_tasks, val_steps, rng=np.random.default_rng(seed))",
        "res = self.meta_test(train, val_tasks, val_steps, rng=np.random.default_rng(seed))",
        "meta-validation reads meta-training tasks",
        (META,),
    ),
    Mutant(
        "meta.alpha-softmax-wrong-axis",
        "nas_gym/meta/lamanas.py",
        "weights = torch.softmax(alpha, dim=-1)",
        "weights = torch.softmax(alpha, dim=0)",
        "alpha's softmax runs over the edges, not the ops",
        (META,),
    ),
    Mutant(
        "meta.proxy-sign",
        "nas_gym/meta/proxy.py",
        "            proxy = proxy - rate * dot",
        "            proxy = proxy + rate * dot",
        "eq. 8 rewards gradients opposite to cross-entropy's",
        (META,),
    ),
    Mutant(
        "meta.loss-net-without-residual",
        "nas_gym/meta/loss_net.py",
        "        if self.residual:\n            h = h + F.cross_entropy(logits, labels)",
        "        if False:\n            h = h + F.cross_entropy(logits, labels)",
        "the learned loss loses its cross-entropy residual",
        (META,),
    ),
]

# tests run after a mutant's own when those pass: every test file that mentions its module's kind
RELATED = {
    "nas_gym/supernets": re.compile(r"supernet", re.IGNORECASE),
    "nas_gym/agents/oneshot": re.compile(
        r"oneshot|Supernet-Cont|\"(lnas|darts|snas|gdas|enas|rsps|proxyless|parsec)\""
    ),
    "nas_gym/meta": re.compile(r"nas_gym\.meta|MetaLearner"),
}


SELF_TEST = "test_mutants_list.py"  # checks this list against the code: every mutant fails it by design


def related_tests(root: Path, file: str) -> list[str]:
    """The test files that mention the kind of module ``file`` belongs to."""
    pattern = next(p for scope, p in RELATED.items() if file.startswith(scope))
    files = sorted(
        p for p in (root / "tests").glob("test_*.py") if p.name != SELF_TEST and pattern.search(p.read_text())
    )
    return [str(p.relative_to(root)) for p in files]


def copy_project(dest: Path) -> Path:
    """The project's files (tracked and untracked, not ignored) under ``dest/<name>``, and a link
    to the shared data folder beside it, as the tests expect."""
    files = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True, capture_output=True
        )
        .stdout.decode()
        .split("\0")
    )
    project = dest / ROOT.name
    for f in filter(None, files):
        src = ROOT / f
        if src.is_file():
            (project / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, project / f)
    shared = ROOT.parent / "shared"
    if shared.exists():
        (dest / "shared").symlink_to(shared)
    return project


def run_tests(project: Path, tests: list[str], timeout: float) -> tuple[str, str, float]:
    """("pass" | "fail" | "timeout" | "error", first failing test, seconds)."""
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-W", "ignore", *tests]
    try:
        out = subprocess.run(
            cmd,
            cwd=project,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
    except subprocess.TimeoutExpired:
        return "timeout", "", time.perf_counter() - t0
    failed = re.search(r"^(?:FAILED|ERROR) (\S+)", out.stdout, re.MULTILINE)
    status = {0: "pass", 1: "fail"}.get(out.returncode, "error")
    detail = failed.group(1) if failed else (out.stdout + out.stderr).strip().splitlines()[-1:]
    return status, detail if isinstance(detail, str) else " ".join(detail), time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--only", nargs="+", metavar="ID", help="run these mutants only")
    ap.add_argument("--quick", action="store_true", help="run each mutant's own test files only")
    ap.add_argument(
        "--timeout", type=float, default=900.0, help="seconds per test run before the mutant counts as killed"
    )
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--fail-under", type=float, default=0.0, help="exit 1 when the kill rate (%%) is lower")
    args = ap.parse_args(argv)
    assert all(m.file.startswith(SCOPE) for m in MUTANTS)
    mutants = MUTANTS
    if args.only:
        unknown = sorted(set(args.only) - {m.id for m in MUTANTS})
        if unknown:
            ap.error(f"unknown mutant(s) {unknown}; valid: {[m.id for m in MUTANTS]}")
        mutants = [m for m in MUTANTS if m.id in args.only]
    if args.list:
        for m in mutants:
            print(f"{m.id:40s} {m.file:40s} {m.bug}")
        return 0
    # a terminated run stops its test process and removes its copy (as Ctrl-C does)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="nas-gym-mutants-") as tmp:
        project = copy_project(Path(tmp))
        print(f"{len(mutants)} mutants in {', '.join(SCOPE)}", flush=True)
        results: dict[str, str] = {}
        for m in mutants:
            path = project / m.file
            original = path.read_text()
            count = original.count(m.code)
            if count != 1:
                results[m.id] = "stale"
                print(f"STALE     {m.id:40s} its code occurs {count} times in {m.file}: update the mutant", flush=True)
                continue
            mutated = original.replace(m.code, m.mutated)
            try:  # a mutant the parser rejects would be "killed" by any import: a broken mutant, not a test
                compile(mutated, m.file, "exec")
            except SyntaxError as e:
                results[m.id] = "error"
                print(f"INVALID   {m.id:40s} the mutated {m.file} does not parse: {e}", flush=True)
                continue
            path.write_text(mutated)
            try:
                own = list(m.tests)
                status, detail, secs = run_tests(project, own, args.timeout)
                if status == "pass" and not args.quick:
                    rest = [t for t in related_tests(project, m.file) if t not in own]
                    status, detail, more = run_tests(project, rest, args.timeout)
                    secs += more
            finally:
                path.write_text(original)
            verdict = {"pass": "SURVIVED", "fail": "KILLED", "timeout": "KILLED", "error": "ERROR"}[status]
            results[m.id] = verdict.lower()
            why = {"fail": f"by {detail}", "timeout": "by the timeout", "pass": "", "error": detail}[status]
            print(f"{verdict:9s} {m.id:40s} {secs:6.0f}s  {m.bug}  {why}", flush=True)
    killed = sum(v == "killed" for v in results.values())
    survived = [k for k, v in results.items() if v == "survived"]
    counted = killed + len(survived)
    rate = 100.0 * killed / counted if counted else 0.0
    stale = [k for k, v in results.items() if v == "stale"]
    errors = [k for k, v in results.items() if v == "error"]
    print(f"\nkilled {killed} of {counted} mutants: {rate:.1f}%" + (" (own tests only)" if args.quick else ""))
    for label, ids in (("survived", survived), ("stale", stale), ("errors", errors)):
        if ids:
            print(f"{label}: {', '.join(ids)}")
    return 1 if rate < args.fail_under or stale or errors else 0


if __name__ == "__main__":
    sys.exit(main())
