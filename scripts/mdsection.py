"""Replaces one marked section of a markdown file (shared by the benchmark scripts)."""
import os
import re


def replace_section(path, name, title, text):
    """Puts `text` between `<!-- name:start -->` and `<!-- name:end -->` in `path`,
    appending the section (with a `## title` heading) if it is not there yet."""
    body = open(path).read() if os.path.exists(path) else "# Performance\n"
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{text.rstrip()}\n{end}"
    if start in body:
        body = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, body, flags=re.S)
    else:
        body = body.rstrip() + f"\n\n## {title}\n\n{block}\n"
    with open(path, "w") as f:
        f.write(body)
