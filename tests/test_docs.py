"""The docs state facts the code can check: the reading path's length, and README's size."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_reading_path_line_count_is_the_files():
    design = (ROOT / "docs" / "design.md").read_text()
    stated = re.search(r"then ((?:`\w+\.py`(?: → )?)+) \((\d+) lines together\)", design)
    assert stated, "docs/design.md no longer states the reading path's length"
    files = re.findall(r"`(\w+\.py)`", stated.group(1))
    assert files[0] == "vgg.py" and "transfer.py" in files, files
    counted = sum(len((ROOT / "stylekit" / f).read_text().splitlines()) for f in files)
    assert int(stated.group(2)) == counted


def test_the_readme_stays_short_and_its_links_resolve():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    for link in re.findall(r"\]\(((?!https?:)[^)#]+)", readme):
        assert (ROOT / link).exists(), link


def test_every_table_a_benchmark_names_has_one_closed_place_in_the_docs():
    places = []
    for page in sorted((ROOT / "docs").glob("*.md")):  # most in performance.md; segment's beside its feature
        markers = re.findall(r"<!-- (table: [\w-]+|/table) -->", page.read_text())
        assert markers[0::2] == [m for m in markers if m != "/table"] and set(markers[1::2]) <= {"/table"}, page
        assert len(markers) % 2 == 0, page
        places += [m.removeprefix("table: ") for m in markers[0::2]]
    assert len(places) == len(set(places))
    scripts = "\n".join(p.read_text() for p in (ROOT / "benchmarks").glob("*.py"))
    named = set(re.findall(r'write_table\(\s*"([\w-]+)"', scripts))
    assert named and named <= set(places), named - set(places)
