"""The package's pyproject.toml names the package and every third-party module the package imports."""
import ast
import pathlib
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
# import name -> distribution name where they differ
DISTRIBUTION = {"sklearn": "scikit-learn", "skimage": "scikit-image"}


def third_party_imports():
    names = set()
    for f in (ROOT / "meddiff").glob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "meddiff"}


def test_every_third_party_import_is_a_declared_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {d.split(">")[0].split("=")[0].split("<")[0].strip() for d in project["dependencies"]}
    missing = {DISTRIBUTION.get(n, n) for n in third_party_imports()} - declared
    assert not missing, f"imported by meddiff but not in pyproject.toml: {sorted(missing)}"
    assert project["name"] == "meddiff"
