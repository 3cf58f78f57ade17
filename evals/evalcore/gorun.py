"""The Go side of grading: one `go vet ./...` and one `go test ./...` per
worked copy, the second one also running the stand-in app run (the probe).

The probe is a test package the grader adds to a throw-away copy of the
workdir (never to the workdir itself). It opens each prepared database with
the project's own open function, so the upgrade runs through real
golang-migrate with the project's own driver, DSN, foreign-key and
transaction settings; then it runs the scenario's statements on a second
connection and calls the app's read methods. It records what happened in a
JSON file and never fails itself, so `go test` reports the project's tests.

Go runs share the machine's build and module caches; modules must already
be there (GOFLAGS=-mod=readonly, GOPROXY=off), as .ci/run arranges.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from .spec import EVALS_DIR, Fixture

PROBE_TEMPLATE = EVALS_DIR / "probe_test.go.tmpl"
PROBE_DIR = "mwevalprobe"
GO_TIMEOUT = 600


def go_env(cgo: bool) -> Dict[str, str]:
    env = dict(os.environ)
    flags = env.get("GOFLAGS", "").split()
    flags = [f for f in flags if not f.startswith("-mod=")] + ["-mod=readonly"]
    env["GOFLAGS"] = " ".join(flags)
    env.setdefault("GOPROXY", "off")
    env["GOTOOLCHAIN"] = env.get("GOTOOLCHAIN", "local")
    env["CGO_ENABLED"] = "1" if cgo else "0"
    return env


def module_path(root: Path) -> Optional[str]:
    try:
        text = (root / "go.mod").read_text(encoding="utf-8")
    except OSError:
        return None
    m = re.search(r"^module\s+(\S+)", text, re.M)
    return m.group(1) if m else None


@dataclass
class PackageResult:
    package: str
    passed: bool
    output: List[str] = field(default_factory=list)  # package-level (build errors, FAIL line)
    failed_tests: Dict[str, List[str]] = field(default_factory=dict)  # test -> its output

    def evidence(self) -> str:
        if self.failed_tests:
            parts = []
            for test, out in self.failed_tests.items():
                kept = [_clip(ln.rstrip()) for ln in out
                        if ln.strip() and not ln.lstrip().startswith(("=== ", "--- PASS"))]
                parts.append("\n".join(kept[:8]))
            return "\n".join(parts)
        return _tail("".join(self.output))


@dataclass
class GoRun:
    vet_ok: bool
    vet_output: str
    test_ok: bool  # every package but the probe passed
    packages: List[PackageResult]
    probe: Optional[dict]  # the probe's JSON, None when it did not run
    probe_output: str

    def failures(self) -> str:
        lines = []
        if not self.vet_ok:
            lines.append("go vet: " + _tail(self.vet_output))
        for p in self.packages:
            if not p.passed and not p.package.endswith("/" + PROBE_DIR):
                lines.append(f"go test {p.package}:\n" + p.evidence())
        return "\n".join(lines)


def _clip(line: str, width: int = 200) -> str:
    return line if len(line) <= width else line[:width] + " ..."


def _tail(text: str, lines: int = 12) -> str:
    kept = [_clip(ln) for ln in text.strip().splitlines() if ln.strip()]
    return "\n".join(kept[-lines:])


def render_probe(fixture: Fixture, module: str) -> str:
    assert fixture.probe is not None
    template = PROBE_TEMPLATE.read_text(encoding="utf-8")
    return (template.replace("{{IMPORT_NAME}}", fixture.probe.name)
            .replace("{{IMPORT_PATH}}", f"{module}/{fixture.probe.package}")
            .replace("{{OPEN}}", fixture.probe.open))


def run(copy: Path, fixture: Fixture, probe_spec: Optional[dict]) -> GoRun:
    """Vet, then (with the probe package added when there is a spec) test."""
    env = go_env(fixture.cgo)
    vet = subprocess.run(["go", "vet", "./..."], cwd=str(copy), env=env, capture_output=True, text=True,
                         timeout=GO_TIMEOUT)
    probe_out: Optional[Path] = None
    if probe_spec is not None and fixture.probe is not None:
        module = module_path(copy)
        if module is not None:
            (copy / PROBE_DIR).mkdir(exist_ok=True)
            (copy / PROBE_DIR / "probe_test.go").write_text(render_probe(fixture, module), encoding="utf-8")
            probe_out = copy.parent / "probe-out.json"
            spec = dict(probe_spec, out=str(probe_out))
            spec_path = copy.parent / "probe-in.json"
            spec_path.write_text(json.dumps(spec), encoding="utf-8")
            env["MW_EVAL_PROBE"] = str(spec_path)
    test = subprocess.run(["go", "test", "-json", "-count=1", "./..."], cwd=str(copy), env=env,
                          capture_output=True, text=True, timeout=GO_TIMEOUT)
    packages = _packages(test.stdout)
    probe_pkg = [p for p in packages if p.package.endswith("/" + PROBE_DIR)]
    others = [p for p in packages if not p.package.endswith("/" + PROBE_DIR)]
    test_ok = test.returncode == 0 or (bool(others) and all(p.passed for p in others) and bool(probe_pkg))
    if not packages:
        # No JSON at all: the module does not load (go.mod, syntax). Keep go's words.
        others = [PackageResult("./...", False, [test.stderr or test.stdout])]
        test_ok = False
    if probe_out is not None and not probe_out.exists():
        # The module as a whole did not build (a broken test file elsewhere,
        # say): the app itself may still upgrade fine, so run the probe alone,
        # keeping `go` and the app's facts apart. Only in this failure case is
        # there a second `go test`.
        alone = subprocess.run(["go", "test", "-json", "-count=1", "./" + PROBE_DIR], cwd=str(copy), env=env,
                               capture_output=True, text=True, timeout=GO_TIMEOUT)
        probe_pkg = [p for p in _packages(alone.stdout) if p.package.endswith("/" + PROBE_DIR)] or probe_pkg
        if not probe_pkg and alone.stderr:
            probe_pkg = [PackageResult(PROBE_DIR, False, [alone.stderr])]
    probe = None
    if probe_out is not None and probe_out.exists():
        probe = json.loads(probe_out.read_text(encoding="utf-8"))
    probe_text = "\n".join(p.evidence() for p in probe_pkg) or test.stderr
    return GoRun(vet_ok=vet.returncode == 0, vet_output=vet.stdout + vet.stderr, test_ok=test_ok,
                 packages=others + probe_pkg, probe=probe, probe_output=probe_text)


def _packages(stream: str) -> List[PackageResult]:
    """Per-package outcome from `go test -json` (build failures included)."""
    results: Dict[str, PackageResult] = {}
    test_out: Dict[tuple, List[str]] = {}
    for line in stream.splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        pkg = ev.get("Package") or ev.get("ImportPath")
        if not pkg:
            continue
        pkg = pkg.split(" ")[0]  # "example.com/x [example.com/x.test]" for build events
        r = results.setdefault(pkg, PackageResult(pkg, True))
        action = ev.get("Action")
        test = ev.get("Test")
        if action in ("output", "build-output") and ev.get("Output"):
            (test_out.setdefault((pkg, test), []) if test else r.output).append(ev["Output"])
        if action == "fail" and test:
            r.failed_tests[test] = test_out.get((pkg, test), [])
        if action in ("fail", "build-fail") and not test:
            r.passed = False
    for r in results.values():
        # A parent test fails with its subtest: keep the innermost ones only.
        for name in list(r.failed_tests):
            if any(other.startswith(name + "/") for other in r.failed_tests):
                del r.failed_tests[name]
    return list(results.values())
