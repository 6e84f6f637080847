"""The domain is plain rules: no database, broker or framework imports."""
import ast
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "feedback" / "domain"


def test_domain_imports_no_sqlalchemy_nameko_or_kombu():
    for path in DOMAIN.glob("*.py"):
        tree = ast.parse(path.read_text())
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [n for n in names if n.split(".")[0] in {"sqlalchemy", "nameko", "kombu", "chassis"}], path
