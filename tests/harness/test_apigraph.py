"""The request graph read from the journeys' HARs (issue 20, item 1 and drift)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.apigraph import (
    ApiGraph,
    abstract_path,
    body_shape,
    drift,
    flow_of_har,
    merge_flows,
    read_graph,
    write_flow,
    write_graph,
)

CART = "0b6c4f5e-8d1a-4a53-9d7e-2f1c9b3a7e10"
CSRF = "kq3Zr8tY1vN0pL5wX2cB7mA9"
SHOP = "http://127.0.0.1:8123"
_CLOCK = iter(range(10_000))


def entry(method: str, url: str, *, body: Any = None, mime: str = "application/json",
          answer: Any = None, answer_mime: str = "application/json", status: int = 200,
          headers: dict[str, str] | None = None,
          answer_headers: dict[str, str] | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {
        "method": method, "url": url,
        "headers": [{"name": k, "value": v} for k, v in (headers or {}).items()]}
    if body is not None:
        text = body if isinstance(body, str) else json.dumps(body)
        request["postData"] = {"mimeType": mime, "text": text}
    text = answer if isinstance(answer, str) or answer is None else json.dumps(answer)
    return {"startedDateTime": f"2026-12-07T08:00:{next(_CLOCK):05d}Z", "request": request,
            "response": {"status": status, "headers": [{"name": k, "value": v} for k, v in
                                                       (answer_headers or {}).items()],
                         "content": {"mimeType": answer_mime, "text": text or ""}}}


def har(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"log": {"version": "1.2", "entries": list(entries)}}


def checkout_har() -> dict[str, Any]:
    session = {"Cookie": "sid=abc"}
    return har(
        entry("GET", f"{SHOP}/", answer="<html><form><input type='hidden' name='csrf' "
              f"value='{CSRF}'></form></html>", answer_mime="text/html"),
        entry("GET", f"{SHOP}/static/app.js", answer="x", answer_mime="text/javascript"),
        entry("GET", "https://analytics.example/collect?id=1", answer="{}"),
        entry("POST", f"{SHOP}/api/carts", body={}, answer={"data": {"uuid": CART}},
              headers=session),
        entry("POST", f"{SHOP}/api/carts/{CART}/items", body={"sku": "MLK-1", "qty": 2},
              answer={"data": {"uuid": CART, "items": [{"sku": "MLK-1", "qty": 2}]}},
              headers=session | {"X-CSRF-Token": CSRF}),
        entry("POST", f"{SHOP}/graphql",
              body={"operationName": "PlaceOrder", "query": "mutation PlaceOrder($cart: ID!) "
                    "{ placeOrder(cart: $cart) { order { id } } }",
                    "variables": {"cart": CART}},
              answer={"data": {"placeOrder": {"order": {"id": 4242}}}},
              headers=session | {"Idempotency-Key": "c1d2e3f4a5b6c7d8e9f0a1b2"}),
        entry("POST", f"{SHOP}/graphql",
              body={"query": "query { products { id } }"}, answer={"data": {"products": []}}),
        entry("GET", f"{SHOP}/api/orders/4242", answer={"id": 4242, "qty": 2}, headers=session),
    )


def test_templates_abstract_ids_and_leave_third_parties_and_static_files_out() -> None:
    graph = flow_of_har(checkout_har(), "checkout")
    keys = [t.key for t in graph.templates]
    assert keys == ["GET /", "POST /api/carts", "POST /api/carts/{uuid}/items",
                    "POST /graphql graphql:PlaceOrder", "POST /graphql graphql:products",
                    "GET /api/orders/{id}"]
    assert graph.origin == SHOP
    items = graph.template("POST /api/carts/{uuid}/items")
    assert items is not None and items.body == 'json:{"qty":"num","sku":"str"}'
    assert items.needs_session and items.changes_state and items.answers == "json"
    place = graph.template("POST /graphql graphql:PlaceOrder")
    query = graph.template("POST /graphql graphql:products")
    assert place is not None and place.changes_state  # a mutation
    assert query is not None and not query.changes_state  # a query sent by POST reads only
    assert not graph.template("GET /").needs_session  # type: ignore[union-attr]


def test_correlations_follow_values_from_answers_into_later_requests() -> None:
    graph = flow_of_har(checkout_har(), "checkout")
    edges = {(c.source, c.source_path, c.target, c.target_where, c.kind)
             for c in graph.correlations}
    assert ("POST /api/carts", "data.uuid", "POST /api/carts/{uuid}/items", "path:{uuid}@3",
            "uuid") in edges
    assert ("POST /api/carts", "data.uuid", "POST /graphql graphql:PlaceOrder",
            "body:variables.cart", "uuid") in edges
    assert ("POST /graphql graphql:PlaceOrder", "data.placeOrder.order.id",
            "GET /api/orders/{id}", "path:{id}@3", "id") in edges
    assert ("GET /", "form:csrf", "POST /api/carts/{uuid}/items", "header:x-csrf-token",
            "token") in edges
    # a value the client made up (an idempotency key) and quantities are no correlations
    assert not any(c.target_where == "header:idempotency-key" for c in graph.correlations)
    assert not any("qty" in c.source_path for c in graph.correlations)


def test_the_graph_keeps_no_value_it_read() -> None:
    text = json.dumps(flow_of_har(checkout_har(), "checkout").to_dict())
    for value in (CART, CSRF, "4242", "MLK-1", "sid=abc", "analytics.example"):
        assert value not in text


def test_flows_merge_into_one_graph_and_survive_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "har"
    folder.mkdir()
    for name in ("checkout-desktop", "checkout-mobile"):
        path = folder / f"{name}.har"
        path.write_text(json.dumps(checkout_har()))
        assert write_flow(path, name) is not None
    graph = write_graph(folder, tmp_path / "api-graph.json")
    assert graph is not None
    assert graph.journeys == ("checkout-desktop", "checkout-mobile")
    items = graph.template("POST /api/carts/{uuid}/items")
    assert items is not None and items.count == 2 and items.journeys == graph.journeys
    assert all(c.count == 2 for c in graph.correlations)
    assert read_graph(tmp_path / "api-graph.json") == graph
    assert write_graph(tmp_path / "nothing", tmp_path / "x.json") is None


def test_drift_names_new_gone_and_reshaped_endpoints() -> None:
    before = flow_of_har(checkout_har(), "checkout")
    changed = checkout_har()
    changed["log"]["entries"][4]["request"]["postData"]["text"] = json.dumps(
        {"sku": "MLK-1", "qty": 2, "note": "leave at door"})
    changed["log"]["entries"].append(entry("DELETE", f"{SHOP}/api/carts/{CART}"))
    del changed["log"]["entries"][7]
    after = flow_of_har(changed, "checkout")
    found = drift(before, after)
    assert found.added == ("DELETE /api/carts/{uuid}",)
    assert found.removed == ("GET /api/orders/{id}",)
    assert [k for k, _, _ in found.changed] == ["POST /api/carts/{uuid}/items"]
    assert any("note" in line for line in found.lines())
    assert not drift(before, merge_flows([before]))


def test_shapes_of_paths_and_bodies() -> None:
    assert abstract_path("/orders/42/items/7")[0] == "/orders/{id}/items/{id}"
    assert abstract_path("/search")[0] == "/search"
    assert body_shape("a=1&b=2", "application/x-www-form-urlencoded") == ("form:a,b", None)
    assert body_shape('{"query": "mutation { pay { ok } }"}', "application/json") == (
        "graphql:pay", True)
    assert body_shape("not json {", "application/json") == ("text", None)


def test_a_graph_of_another_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    path.write_text(json.dumps(ApiGraph().to_dict() | {"version": 99}))
    try:
        read_graph(path)
    except ValueError as exc:
        assert "version 99" in str(exc)
    else:
        raise AssertionError("a graph of another version was read")


def test_pages_that_differ_only_by_a_code_are_one_template() -> None:
    flow = flow_of_har(har(
        entry("GET", f"{SHOP}/p/AVO-001", answer="<html></html>", answer_mime="text/html"),
        entry("GET", f"{SHOP}/p/MLK-001", answer="<html></html>", answer_mime="text/html"),
        entry("GET", f"{SHOP}/c/fruits-veg", answer="<html></html>", answer_mime="text/html"),
    ), "browse")
    graph = merge_flows([flow])
    assert [t.key for t in graph.templates] == ["GET /c/fruits-veg", "GET /p/{slug}"]
    assert graph.template("GET /p/{slug}").count == 2  # type: ignore[union-attr]


def test_the_e2e_suite_records_its_graph_and_its_drift_from_the_committed_one(
        tmp_path: Path) -> None:
    """The real plugin and e2e hooks in a scratch project: a journey's HAR becomes the run's
    api-graph.json, and a request the committed graph lacks is a warning with its name."""
    import os
    import subprocess
    import sys
    import textwrap

    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "demo.toml").write_text(textwrap.dedent("""
        base_url = "http://127.0.0.1:9"
        suites = ["e2e"]
        [e2e]
        har_dir = "artifacts/e2e/har"
        api_graph = "api-graph.json"
    """))
    committed = merge_flows([flow_of_har(checkout_har(), "checkout")])
    (tmp_path / "api-graph.json").write_text(json.dumps(committed.to_dict()))
    recorded = checkout_har()
    recorded["log"]["entries"].append(entry("DELETE", f"{SHOP}/api/carts/{CART}"))
    (tmp_path / "recorded.har").write_text(json.dumps(recorded))
    (tmp_path / "suites" / "e2e").mkdir(parents=True)
    (tmp_path / "suites" / "e2e" / "test_journey.py").write_text(textwrap.dedent("""
        import shutil
        from pathlib import Path
        from harness.apigraph import record_flow

        def test_checkout(qgate_run_dir):
            har = Path(qgate_run_dir) / "artifacts/e2e/har/checkout.har"
            har.parent.mkdir(parents=True)
            shutil.copy(Path(__file__).parents[2] / "recorded.har", har)
            record_flow(har)  # what the e2e fixtures do when a journey's HAR is written
    """))
    env = {**os.environ, "QGATE_ROOT": str(tmp_path)}
    env.pop("QGATE_REPORTS_DIR", None)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "suites/e2e", "--env", "demo", "-q"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    run = json.loads((tmp_path / "reports" / "latest" / "run.json").read_text())
    e2e = run["suites"]["e2e"]
    assert e2e["metrics"]["e2e.api_drift"] == 1
    assert any(a["kind"] == "api-graph" for a in e2e["artifacts"])
    assert any("new endpoint: DELETE /api/carts/{uuid}" in n for n in e2e["notes"])
    [row] = [c for c in run["verdict"]["criteria"] if c["name"].startswith("request graph")]
    assert row["outcome"] == "warn" and row["observed"] == 1
    assert e2e["details"]["api_graph"]["templates"]
    assert e2e["details"]["api_drift"] == ["new endpoint: DELETE /api/carts/{uuid}"]
    graph = read_graph(tmp_path / "reports" / "latest" / "artifacts/e2e/api-graph.json")
    assert graph.template("DELETE /api/carts/{uuid}") is not None


def test_the_report_shows_the_graph_from_the_run_record() -> None:
    from harness.report.sections.e2e import render
    from harness.results import SuiteResult

    graph = merge_flows([flow_of_har(checkout_har(), "checkout")])
    result = SuiteResult("e2e", "passed", 1.0, "pytest",
                         details={"api_graph": graph.to_dict(),
                                  "api_drift": ["new endpoint: DELETE /api/carts/{uuid}"]})
    html = render(SuiteResult.from_dict(result.to_dict()))
    assert "POST /api/carts/{uuid}/items" in html and "data.uuid" in html
    assert "Drift since the committed graph" in html and "DELETE /api/carts/{uuid}" in html
    assert render(SuiteResult("e2e", "passed", 1.0, "pytest")) == ""


def test_credentials_in_the_recorded_url_stay_out_of_the_graph() -> None:
    recorded = checkout_har()
    for e in recorded["log"]["entries"]:
        e["request"]["url"] = e["request"]["url"].replace("http://", "http://ops:pw-canary@")
    graph = flow_of_har(recorded, "checkout")
    assert graph.origin == SHOP and "pw-canary" not in json.dumps(graph.to_dict())


def test_an_id_a_page_shows_only_in_its_text_is_found_by_the_markup_before_it() -> None:
    from harness.replay import text_after

    page = ("<html><body><h1>Thank you</h1><p>Your order number is <strong>100023</strong>"
            "</p></body></html>")
    flow = flow_of_har(har(
        entry("POST", f"{SHOP}/checkout/preview/", body="action=place_order",
              mime="application/x-www-form-urlencoded", status=302, answer=""),
        entry("GET", f"{SHOP}/checkout/thank-you/", answer=page, answer_mime="text/html"),
        entry("GET", f"{SHOP}/accounts/orders/100023/", answer="<html></html>",
              answer_mime="text/html"),
    ), "checkout")
    [corr] = [c for c in flow.correlations if c.target == "GET /accounts/orders/{id}/"]
    assert corr.source == "GET /checkout/thank-you/" and corr.source_path.startswith("text:")
    assert "100023" not in corr.source_path
    # the same page for another order gives that order's number
    assert text_after(page.replace("100023", "100057"), corr.source_path[5:]) == "100057"
