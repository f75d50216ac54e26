"""End to end in a real browser: Debian's chromium driven by Playwright (no browser download)
against a real Airflow API server with our plugin. Log in, open the review queue, fix one field
and reject one box of a packet with the keyboard, submit, and find the new annotation versions
in the lineage database with the reviewer's name. Anonymous and forged requests are refused.
The auditor's report and a lineage trace are opened the same way. Screenshots go to
test-artifacts/screenshots/."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from sqlalchemy import select

from airflow_ui import REPO, AirflowUI, start_airflow_ui
from skyscript.audit.report import write_drama_audit
from skyscript.calibration.sampling import create_batch
from skyscript.config import Settings
from skyscript.context import open_context
from skyscript.db import lineage
from skyscript.db.models import CalibrationPacket
from skyscript.pipeline import run_drama

pytestmark = pytest.mark.integration
SHOTS = REPO / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, sample_media: Path) -> Iterator[tuple[AirflowUI, Settings, str]]:
    """Megamind run through the pipeline, a calibration batch drawn, and Airflow serving the plugin."""
    root = tmp_path_factory.mktemp("review-e2e")
    home = root / "skyscript"
    settings = Settings(home=home)
    inputs = root / "in"
    inputs.mkdir()
    shutil.copy(sample_media / "Megamind.avi", inputs / "Megamind.avi")
    ctx = open_context(settings, "mega")
    run_drama(ctx, [str(inputs)])
    with ctx.db.session() as s:
        settings.calibration.overlap_share = 0.0
        batch = create_batch(s, settings, ["mega"], seed=9, created_by="test").id
    ctx.db.dispose()
    ui = start_airflow_ui(root / "airflow", {"SKYSCRIPT_HOME": str(home)})
    try:
        yield ui, settings, batch
    finally:
        ui.stop()


def test_anonymous_and_forged_requests_are_refused(world: tuple[AirflowUI, Settings, str]) -> None:
    ui, _settings, batch = world
    for path in ("/skyscript/", f"/skyscript/packet/{batch}--0000", f"/skyscript/packet/{batch}--0000/frame.jpg",
                 f"/skyscript/api/batch/{batch}"):
        assert httpx.get(ui.url + path, timeout=30).status_code == 401, path
    assert httpx.post(f"{ui.url}/skyscript/packet/{batch}--0000/submit", timeout=30).status_code == 401
    assert httpx.get(f"{ui.url}/skyscript/", cookies={"_token": "forged"}, timeout=30).status_code == 403
    ok = httpx.get(f"{ui.url}/skyscript/api/batch/{batch}", headers={"Authorization": f"Bearer {ui.token()}"}, timeout=30)
    assert ok.status_code == 200 and ok.json()["progress"]["packets"] == 4
    plugins = httpx.get(f"{ui.url}/api/v2/plugins", headers={"Authorization": f"Bearer {ui.token()}"}, timeout=30).json()
    views = [v for p in plugins["plugins"] for v in p["external_views"]]
    assert {"name": "Calibration review", "href": "skyscript/"}.items() <= views[0].items()


def test_reviewer_fixes_a_field_and_rejects_a_box_in_chromium(world: tuple[AirflowUI, Settings, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    ui, settings, batch = world
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is not installed (apt-get install -y chromium)")
    ctx = open_context(settings, "mega", upgrade=False)
    with ctx.db.session() as s:
        # the two-person frame of Megamind (a woman and a child): it has a second face box
        packet = next(p for p in s.scalars(select(CalibrationPacket).where(CalibrationPacket.batch_id == batch))
                      if any(i["key"] == "faces:faces/1/xyxy" for i in p.items) and any(i["key"] == "keyinfo:people/0/emotion" for i in p.items))
        pid, kf, n_faces = packet.id, packet.keyframe_id, len(packet.snapshot["faces"]["payload"]["faces"])
        old_emotion = packet.snapshot["keyinfo"]["payload"]["people"][0]["emotion"]
        keys = [i["key"] for i in packet.items]
    new_emotion = "angry" if old_emotion != "angry" else "sad"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1500, "height": 900})
        page.goto(f"{ui.url}/auth/login/")
        page.get_by_label("Username").fill(ui.user)
        page.get_by_label("Password").fill(ui.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/auth/login" not in url, timeout=60_000)

        # the nav entry opens our page inside the Airflow UI
        page.goto(f"{ui.url}/plugin/skyscript-review")
        frame = page.frame_locator("iframe").first
        expect(frame.locator("#user")).to_have_text(ui.user, timeout=60_000)
        page.screenshot(path=str(SHOTS / "airflow-nav-review-queue.png"))

        page.goto(f"{ui.url}/skyscript/")
        expect(page.locator("#user")).to_have_text(ui.user)
        page.locator(f"a.packet-link[href$='{pid}']").click()
        expect(page.locator("#frame")).to_be_visible()
        page.wait_for_function("document.getElementById('frame').complete && document.getElementById('frame').naturalWidth > 0")
        assert page.evaluate("document.getElementById('frame').naturalWidth") == 720  # the masked JPEG loaded
        expect(page.locator("svg rect")).to_have_count(sum(1 for k in keys if k.endswith(("xyxy", "_box"))))

        # keyboard: pick the emotion row, f, type, Enter -> fix
        row = page.locator("tr.item", has=page.locator("td", has_text="person 1 emotion"))
        row.locator("td").nth(1).click()
        page.keyboard.press("f")
        page.keyboard.type(new_emotion)
        page.keyboard.press("Enter")
        expect(page.locator("tr.item", has=page.locator("td", has_text="person 1 emotion")).locator("td.state")).to_have_text("fix")
        # the second face box: r -> reject
        n = keys.index("faces:faces/1/xyxy")
        page.locator(f"#item-{n} td").nth(1).click()
        page.keyboard.press("r")
        expect(page.locator(f"#item-{n} td.state")).to_have_text("reject")
        expect(page.locator(f"#box-{n}")).to_have_class(re.compile(r"\brejected\b"))
        page.screenshot(path=str(SHOTS / "review-packet.png"), full_page=True)
        page.keyboard.press("s")  # submit, accepting the rest
        page.wait_for_url(lambda url: pid not in url or "msg=" in url, timeout=60_000)
        expect(page.locator("#msg")).to_contain_text(f"packet {pid} submitted")

        page.goto(f"{ui.url}/skyscript/batch/{batch}")
        expect(page.locator("#overall")).to_contain_text("items correct")
        page.screenshot(path=str(SHOTS / "batch-accuracy.png"), full_page=True)

        # the auditor's side: the drama's audit report from the reports list, and a lineage trace
        with ctx.db.session() as s:
            write_drama_audit(s, settings, ctx.store, "mega", trace_url=ui.url + "/skyscript/trace/{id}")
        page.goto(f"{ui.url}/skyscript/reports")
        page.locator("a.report-link", has_text="audit/index.html").click()
        expect(page.locator("#loss")).to_contain_text("loss rate")
        expect(page.locator("svg").first).to_be_visible()
        page.screenshot(path=str(SHOTS / "audit-report.png"), full_page=True)
        page.locator(f"a[href$='/trace/{kf}']").click()
        expect(page.locator("#annotations")).to_contain_text(ui.user)
        page.screenshot(path=str(SHOTS / "lineage-trace.png"), full_page=True)
        browser.close()

    with ctx.db.session() as s:
        ki = lineage.annotation_history(s, kf, "keyinfo")
        assert [(a.version, a.current, a.author) for a in ki] == [(1, False, None), (2, True, ui.user)]
        assert ki[1].payload["people"][0]["emotion"] == new_emotion and ki[0].payload["people"][0]["emotion"] == old_emotion
        faces = lineage.annotation_history(s, kf, "faces")
        assert [(a.version, a.author) for a in faces] == [(1, None), (2, ui.user)]
        assert len(faces[1].payload["faces"]) == n_faces - 1
        assert faces[1].payload["faces"][0]["xyxy"] == faces[0].payload["faces"][0]["xyxy"]
    ctx.db.dispose()
    assert (SHOTS / "review-packet.png").stat().st_size > 10_000
