"""The design is in the repository: every relative link in the README, the docs and the service READMEs points to
a file that exists inside the repository (not to ../shared/DESIGN.md beside it)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_relative_links_stay_inside_the_repository_and_resolve():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted(ROOT.glob("services/*/README.md")),
             ROOT / "deploy" / "README.md", ROOT / "bench" / "README.md"]
    broken = []
    for page in pages:
        for target in LINK.findall(page.read_text()):
            if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
                continue
            resolved = (page.parent / target).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, broken


def test_the_architecture_page_describes_every_file_of_a_service_and_both_flows():
    text = (ROOT / "docs" / "architecture.md").read_text()
    for part in ("service.py", "settings.py", "usecases/", "domain/", "repositories.py", "models.py", "views.py",
                 "errors.py", "access.py", "migrations/", "register_table", "chassis.ids.new_id()",
                 "How a request flows", "How an event flows", "Reliability rules", "Security rules", "```mermaid"):
        assert part in text, part
    assert "docs/architecture.md" in (ROOT / "README.md").read_text()
