"""The README's Python example runs as written, from the repository's root."""
import contextlib
import io
import os
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_readme_example_runs_as_written():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "expected one python block in the README's Python section"
    printed = io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(blocks[0], "README.md (Python)", "exec"), {})
    finally:
        os.chdir(cwd)
    lines = printed.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("Score(log_likelihood=-") and "predictions=15" in lines[0]
    assert lines[1] == "(32,)"
    assert re.fullmatch(r"[ACGTN]{20}", lines[2])
