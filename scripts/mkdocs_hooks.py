"""mkdocs hooks (mkdocs.yml): the README as a page of the site, and links to it that work there.

The README lives at the repository's root, outside ``docs/``; the pages link to it
as ``../README.md`` (right on a code host) and it links to them as ``docs/x.md``.
Here it becomes the page ``readme.md`` and both kinds of link are rewritten.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parent.parent / "README.md"
PAGE = "readme.md"


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    text = re.sub(r"\]\(docs/", "](", README.read_text(encoding="utf-8"))
    files.append(File.generated(config, PAGE, content=text))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return markdown.replace("](../README.md", f"]({PAGE}")
