"""The Korean search-quality set through the real doors: the records go in by a CSV import
(the index jobs run), every query goes through ``GET /api/archive/search``. Writes the figures
to ``search_quality.json`` in the test's directory and prints them (``pytest -s``)."""

import json

import pytest

from tests.fixtures import search_quality

MIN_RECALL = 0.98
MIN_PRECISION = 0.95
MIN_KIND = 0.95  # recall and precision of every kind
MIN_ORDERED = 0.9  # whole words before compounds, both words before one


@pytest.fixture
def imported(app, tmp_path):
    corpus = search_quality.load()
    path = search_quality.write_csv(tmp_path / "quality.csv", corpus["records"])
    result = app.test_cli_runner().invoke(args=["archive", "import", str(path), "--publish"])
    assert result.exit_code == 0, result.output
    assert f"{len(corpus['records'])} created" in result.output
    return corpus


def test_korean_search_quality(client, imported, tmp_path):
    def search(q: str) -> list[str]:
        found, page = [], 1
        while True:
            response = client.get(
                "/api/archive/search", query_string={"q": q, "per_page": 100, "page": page}
            )
            assert response.status_code == 200, response.get_json()
            body = response.get_json()
            found += [hit["identifier"] for hit in body["hits"]]
            if page * 100 >= body["total"]:
                return found
            page += 1

    result = search_quality.evaluate(search, imported)
    (tmp_path / "search_quality.json").write_text(json.dumps(result, ensure_ascii=False))
    figures = result["figures"]
    report = json.dumps(figures, ensure_ascii=False)
    print("\n" + report + "".join("\n  " + f for f in result["failures"]))
    assert figures["all"]["records"] >= 300 and figures["all"]["queries"] >= 300
    assert figures["all"]["recall"] >= MIN_RECALL, report
    assert figures["all"]["precision"] >= MIN_PRECISION, report
    for kind, kind_figures in figures.items():
        assert kind_figures["recall"] >= MIN_KIND, (kind, report)
        assert kind_figures["precision"] >= MIN_KIND, (kind, report)
        if kind_figures.get("ordered") is not None:
            assert kind_figures["ordered"] >= MIN_ORDERED, (kind, report)
