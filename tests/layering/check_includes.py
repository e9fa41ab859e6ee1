#!/usr/bin/env python3
"""The architecture's layering, checked on every #include under src/ (CTest layering.includes).

Each folder of src/ may include only the folders listed for it (and the public API, include/kiln/).
The compile side (frontend, passes, planner, compiler) sits above the runtime; the runtime never
includes a compile-side file; the plan format (src/plan) and the op schemas are below both; the CLI and
the server are clients of the public API only (plus their own files and small utilities; the CLI starts
the server). The Python extension (python/src/) includes the public API only.
"""
import pathlib
import re
import sys

ALLOWED = {
    "util": {"util"},
    "ir": {"ir", "util"},
    "ops": {"ops", "ir", "util"},
    "kernels": {"kernels", "ops", "ir", "util"},
    "plan": {"plan", "ops", "ir", "util"},
    "artifact": {"artifact", "plan", "ir", "util"},
    "text": {"text", "util"},
    "runtime": {"runtime", "artifact", "plan", "kernels", "ops", "ir", "text", "util"},
    "frontend": {"frontend", "ops", "ir", "text", "util"},
    "passes": {"passes", "kernels", "ops", "ir", "util"},
    "planner": {"planner", "plan", "ops", "ir", "util"},
    "compiler": {"compiler", "planner", "passes", "frontend", "runtime", "artifact", "plan", "kernels", "ops", "ir",
                 "text", "util"},
    "server": {"server", "util"},
    "cli": {"cli", "server", "util"},
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/', re.M)


def main() -> int:
    src = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2] / "src")
    problems = []
    folders = sorted(p.name for p in src.iterdir() if p.is_dir())
    for folder in folders:
        if folder not in ALLOWED:
            problems.append(f"src/{folder}/: a folder with no layering rule (add it to {__file__})")
            continue
        for f in sorted((src / folder).rglob("*")):
            if f.suffix not in (".cc", ".h"):
                continue
            for m in INCLUDE.finditer(f.read_text(errors="replace")):
                target = m.group(1)
                if target == "kiln" or target in ALLOWED[folder]:
                    continue
                line = f.read_text(errors="replace")[: m.start()].count("\n") + 1
                problems.append(f"{f.relative_to(src.parent)}:{line}: src/{folder}/ includes {target}/ "
                                f"(allowed: {', '.join(sorted(ALLOWED[folder]))}, kiln/)")
    # The Python extension (python/src/) is a client of the public API only: kiln/ and its own files.
    python = src.parent / "python" / "src"
    if python.is_dir():
        for f in sorted(python.rglob("*")):
            if f.suffix not in (".cc", ".h"):
                continue
            text = f.read_text(errors="replace")
            for m in INCLUDE.finditer(text):
                if m.group(1) != "kiln":
                    line = text[: m.start()].count("\n") + 1
                    problems.append(f"{f.relative_to(src.parent)}:{line}: python/src/ includes {m.group(1)}/ "
                                    f"(allowed: kiln/, the public API)")
    for p in problems:
        print(p)
    print(f"layering: {len(problems)} violation(s) in {len(folders)} folders")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
