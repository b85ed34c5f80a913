"""The Airflow UI in a real browser (Debian's headless Chromium through Selenium) against the
real stack: scheduler, DAG processor and api-server started on a free port over a temp data dir.

A data engineer logs in, sees the DAGs with their docs, triggers the platform DAG for a new
day, and reads a task's log; the REST API waits for the platform run and the warehouse and DP
runs its Assets start. Screenshots land in the test's tmp folder (printed with `-s`).
"""

import shutil
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.ui.conftest import DAGS
from weir import airflow_stack

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip(
        "Chromium or chromedriver not installed: `apt-get install chromium chromium-driver` (.ci/run does it as root)",
        allow_module_level=True,
    )

from selenium import webdriver  # noqa: E402 - only once the browser is known to exist
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.slow
SMALL_WORLD = {
    "element_users": "300",
    "element_days": "2",
    "element_bad_rate": "0.01",
}  # as the demo test: passes the publish gate
UI_WAIT = 60  # seconds: the React UI fetches everything after the page loads


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("screenshots")
    print(f"screenshots: {folder}")
    return folder


@pytest.fixture(scope="module")
def browser(stack, shots: Path):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)  # no driver download
    driver.get(f"{stack.url}/")
    wait(driver).until(ec.presence_of_element_located((By.NAME, "username"))).send_keys("admin")
    driver.find_element(By.NAME, "password").send_keys(airflow_stack.admin_password(stack.data_dir))
    driver.save_screenshot(shots / "01-login.png")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver).until(lambda d: "/auth/login" not in d.current_url)
    yield driver
    driver.quit()


def wait(driver, seconds: float = UI_WAIT) -> WebDriverWait:
    return WebDriverWait(driver, seconds)


def page_text(driver, *expected: str) -> str:
    """The page's text once every expected string shows (the SPA renders after loading)."""
    wait(driver).until(lambda d: all(e in d.find_element(By.TAG_NAME, "body").text for e in expected))
    return driver.find_element(By.TAG_NAME, "body").text


def test_the_dags_page_lists_every_weir_dag_and_shows_their_docs(stack, browser, shots: Path) -> None:
    browser.get(f"{stack.url}/dags")
    listed = page_text(browser, *DAGS, "weir_model_training", "weir_dsr")
    browser.save_screenshot(shots / "02-dags.png")
    browser.get(f"{stack.url}/dags/weir_platform")
    wait(browser).until(ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid=markdown-button]"))).click()
    docs = wait(browser).until(lambda d: [e.text for e in d.find_elements(By.CSS_SELECTOR, "[role=dialog]") if e.text])
    browser.save_screenshot(shots / "03-docs.png")
    webdriver.ActionChains(browser).send_keys(Keys.ESCAPE).perform()

    assert "weir-data-platform" in page_text(browser, "Owner")  # the owner, not `airflow`
    assert all(dag in listed for dag in DAGS)
    assert docs[0].startswith("Dag Documentation\nWeir platform DAG")
    assert "Data Docs" in docs[0] and "Runbook" in docs[0]


def test_a_trigger_from_the_ui_runs_the_platform_then_the_warehouse_and_dp_and_logs_show(
    stack, browser, shots: Path
) -> None:
    started = datetime.now(UTC)
    browser.get(f"{stack.url}/dags/weir_platform")
    wait(browser).until(ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid=trigger-dag-button]"))).click()
    form = wait(browser).until(ec.presence_of_element_located((By.NAME, "element_users")))
    for name, value in SMALL_WORLD.items():
        field = browser.find_element(By.NAME, name)
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(value)
    browser.save_screenshot(shots / "04-trigger.png")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=trigger-dag-submit]").click()
    wait(browser).until(ec.staleness_of(form))

    (run,) = [r for r in airflow_stack.runs(stack, "weir_platform") if r["run_type"] == "manual"]
    platform = airflow_stack.wait_for_run(stack, "weir_platform", run["dag_run_id"])
    warehouse = airflow_stack.wait_for_run(stack, "weir_warehouse", after=started)
    dp = airflow_stack.wait_for_run(stack, "weir_dp_releases", after=started)
    run_id = quote(platform["dag_run_id"], safe="")
    browser.get(f"{stack.url}/dags/weir_platform/runs/{run_id}/tasks/ingest_batch")
    log = page_text(browser, "Returned value was")
    browser.save_screenshot(shots / "05-task-log.png")
    browser.get(f"{stack.url}/dags/weir_warehouse")
    page_text(browser, "weir_warehouse", "dbt")
    browser.save_screenshot(shots / "06-warehouse.png")

    assert (platform["conf"]["users"], platform["conf"]["days"]) == (300, 2)  # what the form sent
    assert (warehouse["run_type"], dp["run_type"]) == ("asset_triggered", "asset_triggered")
    assert "'batch_id':" in log and "'loaded':" in log  # the task's own result, in the UI
    assert "Skipping registering function" not in log  # GX's start-up noise is filtered
    assert sorted(p.name for p in shots.iterdir()) == [
        f"0{i}-{n}.png" for i, n in enumerate(["login", "dags", "docs", "trigger", "task-log", "warehouse"], start=1)
    ]
