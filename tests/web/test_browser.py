"""The console in a real headless Chromium (Debian's ``chromium`` + ``chromium-driver``, driven by Selenium),
against a real ``ivr web`` process on a free port and a real SQLite database. Each test saves a screenshot
under its tmp dir (the path is printed; ``pytest -s`` shows it)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy.orm import Session, sessionmaker

from ivr.db.models import Campaign
from ivr.db.session import dispose_engines, open_database
from ivr.web.accounts import add_user
from ivr.testing import factories
from tests.web.conftest import PASSWORD
from tests.web.data import CSV_TEXT, finished_call, open_review

IVR = str(Path(sys.executable).with_name("ivr"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Console:
    url: str
    sessions: sessionmaker[Session]
    shots: Path


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    db = f"sqlite:///{tmp_path / 'console.db'}"
    sessions = open_database(db)
    with sessions.begin() as s:
        add_user(s, "supervisora", "supervisor", PASSWORD, "test")
    port = _free_port()
    env = {
        **os.environ,
        "IVR_DATABASE_URL": db,
        "IVR_DATA_DIR": str(tmp_path / "var"),
        "IVR_WEB_SECRET_KEY": "browser-test",
        "IVR_SERVICE_AGI_PORT": str(_free_port()),
    }
    log = (tmp_path / "web.log").open("w")
    proc = subprocess.Popen([IVR, "web", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("ivr web did not start: " + (tmp_path / "web.log").read_text()) from None
                time.sleep(0.1)
        shots = tmp_path / "screenshots"
        shots.mkdir()
        yield Console(f"http://127.0.0.1:{port}", sessions, shots)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        log.close()
        dispose_engines()


@pytest.fixture
def browser(tmp_path: Path, console: Console) -> Iterator[WebDriver]:
    """Quits before the console stops (an open live page keeps its event stream)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1366,768",
        "--lang=pt-BR",
        f"--user-data-dir={tmp_path / 'chrome'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    # A find right after a click that loads a page may run before the new page's body is parsed: retry it
    # for up to 5 s instead of failing (the 2-core CI machine is slower than a laptop).
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


def shoot(browser: WebDriver, console: Console, name: str) -> Path:
    path = console.shots / f"{name}.png"
    assert browser.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return path


def wait(browser: WebDriver, seconds: float = 10) -> WebDriverWait[WebDriver]:
    """Waits through htmx swaps and page loads: an element read while it is being replaced goes stale, or
    Chrome answers "Node with given id does not belong to the document" (a plain WebDriverException). What the
    wait never sees ends in a TimeoutException naming the condition."""
    return WebDriverWait(
        browser,
        seconds,
        ignored_exceptions=(NoSuchElementException, StaleElementReferenceException, WebDriverException),
    )


def log_in(browser: WebDriver, console: Console, path: str = "/campanhas") -> None:
    browser.get(console.url + path)
    assert "/login" in browser.current_url
    browser.find_element(By.ID, "username").send_keys("supervisora")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login-submit").click()
    wait(browser).until(lambda b: "/login" not in b.current_url)


def no_horizontal_scroll(browser: WebDriver) -> None:
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 1366, f"page is {width}px wide: does not fit a 1366x768 laptop"


def test_log_in(browser: WebDriver, console: Console) -> None:
    browser.get(console.url + "/")
    browser.find_element(By.ID, "username").send_keys("supervisora")
    browser.find_element(By.ID, "password").send_keys("senha errada")
    browser.find_element(By.ID, "login-submit").click()
    # the refusal is a new page: wait for it rather than read the form that is being replaced
    error = wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".error")))
    assert "Usuário ou senha incorretos" in error.text
    shoot(browser, console, "01-login-erro")
    browser.find_element(By.ID, "username").clear()
    browser.find_element(By.ID, "username").send_keys("supervisora")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login-submit").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "campaigns")))
    assert "supervisora" in browser.find_element(By.CSS_SELECTOR, "header .who").text
    shoot(browser, console, "02-campanhas-vazia")


def test_create_a_campaign(browser: WebDriver, console: Console) -> None:
    log_in(browser, console)
    browser.find_element(By.ID, "name").send_keys("dez-2026")
    browser.find_element(By.ID, "creditor").send_keys("Banco Exemplo")
    browser.find_element(By.NAME, "listen_timeout_s").send_keys("99")
    browser.find_element(By.ID, "create-campaign").click()
    error = wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".error")))
    assert "listen_timeout_s" in error.text
    browser.find_element(By.NAME, "listen_timeout_s").clear()
    browser.find_element(By.NAME, "max_attempts_per_day").send_keys("3")
    Select(browser.find_element(By.NAME, "verification")).select_by_value("birth_year")
    browser.find_element(By.ID, "create-campaign").click()
    row = wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, 'tr[data-campaign="dez-2026"]')))
    assert "rascunho" in row.text
    row.find_element(By.CSS_SELECTOR, 'button[value="start"]').click()
    # The row is there before and after the page reloads: wait for its new state, not for the row.
    wait(browser).until(
        lambda b: "em andamento" in b.find_element(By.CSS_SELECTOR, 'tr[data-campaign="dez-2026"]').text
    )
    with console.sessions() as s:
        from sqlalchemy import select

        camp = s.scalar(select(Campaign).where(Campaign.name == "dez-2026"))
        assert camp is not None and camp.policy == {"verification": "birth_year", "max_attempts_per_day": 3}
    no_horizontal_scroll(browser)
    shoot(browser, console, "03-campanha-criada")
    browser.find_element(By.CSS_SELECTOR, "details.card summary").click()
    shoot(browser, console, "04-campanha-formulario")


def test_upload_a_file_and_see_the_summary(browser: WebDriver, console: Console, tmp_path: Path) -> None:
    factories.campaign(console.sessions)
    csv = tmp_path / "devedores.csv"
    csv.write_text(CSV_TEXT, encoding="utf-8")
    log_in(browser, console, "/importar")
    Select(browser.find_element(By.ID, "import-campaign")).select_by_visible_text("nov")
    browser.find_element(By.ID, "import-file").send_keys(str(csv))
    browser.find_element(By.ID, "import-submit").click()
    summary = wait(browser, 20).until(ec.presence_of_element_located((By.ID, "import-summary")))
    assert browser.find_element(By.ID, "taken").text == "2"
    assert browser.find_element(By.ID, "refused").text == "1"
    assert "Linhas recusadas" in summary.text
    assert (
        browser.find_element(By.ID, "rejects-link")
        .get_attribute(
            "href",
        )
        .endswith("/recusados")
    )
    shoot(browser, console, "05-importar-resumo")


def test_live_page_updates_while_a_call_is_stored(browser: WebDriver, console: Console) -> None:
    cid = factories.campaign(console.sessions)
    with console.sessions.begin() as s:
        s.get(Campaign, cid).status = "running"  # type: ignore[union-attr]
    log_in(browser, console, "/ao-vivo")
    wait(browser).until(lambda b: b.find_element(By.ID, "c-placed").text == "0")
    debtor_id, phone_id, debt_id = factories.debtor(console.sessions, cid, 3)
    attempt_id = factories.attempt(console.sessions, cid, debtor_id, phone_id, debt_id, state="dialing")
    row = wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, f'tr[data-attempt="{attempt_id}"]')))
    assert "chamando" in row.text and "***4321" in row.text
    assert browser.find_element(By.ID, "c-in-progress").text == "1"
    shoot(browser, console, "06-ao-vivo-chamando")
    from ivr.db.results import mark_answered

    mark_answered(console.sessions, attempt_id, "Local/x", "u1")
    wait(browser).until(lambda b: "AMD" in b.find_element(By.CSS_SELECTOR, f'tr[data-attempt="{attempt_id}"]').text)
    from ivr.db.models import Attempt, utcnow

    with console.sessions.begin() as s:
        a = s.get(Attempt, attempt_id)
        assert a is not None
        a.state, a.outcome, a.ended_at, a.duration_s = "ended", "hung_up", utcnow(), 3.0
    wait(browser).until(lambda b: b.find_element(By.ID, "c-in-progress").text == "0")
    assert browser.find_element(By.ID, "c-placed").text == "1"
    assert "100" in browser.find_element(By.ID, "c-short").text  # one call, and it lasted under 6 s
    shoot(browser, console, "07-ao-vivo-depois")


def test_open_a_debtor_and_read_the_transcript(browser: WebDriver, console: Console) -> None:
    cid = factories.campaign(console.sessions)
    debtor_id, attempt_id = finished_call(console.sessions, cid)
    finished_call(console.sessions, cid, 2, outcome="transferred", name="José Lima")
    log_in(browser, console, "/devedores")
    browser.find_element(By.ID, "debtor-search").send_keys(str(debtor_id))
    browser.find_element(By.CSS_SELECTOR, ".filters button").click()
    wait(browser).until(lambda b: "q=" in b.current_url)
    wait(browser).until(ec.element_to_be_clickable((By.LINK_TEXT, "Maria Aparecida Souza"))).click()
    transcript = wait(browser).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, f"#attempt-{attempt_id} .transcript"))
    )
    assert "vou pagar dia vinte e cinco" in transcript.text and "Robô" in transcript.text
    assert "***4321" in browser.page_source and "+5511987654321" not in browser.page_source
    browser.find_element(By.ID, "reveal-button").click()
    revealed = wait(browser).until(ec.presence_of_element_located((By.ID, "reveal")))
    assert "+5511987654321" in revealed.text
    no_horizontal_scroll(browser)
    shoot(browser, console, "08-devedor-revelado")
    browser.execute_script("arguments[0].scrollIntoView()", transcript)
    shoot(browser, console, "09-devedor-transcricao")
    browser.get(console.url + f"/resultados?campanha={cid}")
    wait(browser).until(lambda b: b.execute_script("return window.Chart && Chart.getChart('chart-day') !== undefined"))
    no_horizontal_scroll(browser)
    shoot(browser, console, "10-resultados")


def test_resolve_a_review(browser: WebDriver, console: Console) -> None:
    cid = factories.campaign(console.sessions)
    debtor_id, attempt_id = finished_call(console.sessions, cid, outcome="transferred")
    review_id = open_review(console.sessions, debtor_id, attempt_id, kind="dispute", note="diz que não reconhece")
    log_in(browser, console, "/revisoes")
    row = browser.find_element(By.ID, f"review-{review_id}")
    assert "contestação" in row.text
    shoot(browser, console, "11-revisoes")
    row.find_element(By.NAME, "note").send_keys("contrato conferido com o credor")
    Select(row.find_element(By.NAME, "action")).select_by_value("resume")
    browser.find_element(By.ID, f"resolve-{review_id}").click()
    wait(browser).until(lambda b: "resolvida" in b.find_element(By.ID, f"review-{review_id}").text)
    shoot(browser, console, "12-revisao-resolvida")
    browser.get(console.url + "/revisoes")
    assert "Nenhuma revisão aberta" in browser.find_element(By.ID, "reviews").text


def test_admin_pages_and_api_docs(browser: WebDriver, console: Console) -> None:
    with console.sessions.begin() as s:
        add_user(s, "chefe", "admin", PASSWORD, "test")
    browser.get(console.url + "/usuarios")
    browser.find_element(By.ID, "username").send_keys("chefe")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "login-submit").click()
    wait(browser).until(lambda b: "supervisora" in b.page_source and "/usuarios" in b.current_url)
    shoot(browser, console, "13-usuarios")
    browser.get(console.url + "/auditoria")
    assert "login" in browser.find_element(By.ID, "audit").text
    shoot(browser, console, "14-auditoria")
    browser.get(console.url + "/docs")
    wait(browser).until(lambda b: "/api/campaigns" in b.find_element(By.TAG_NAME, "body").text)
    shoot(browser, console, "15-api-docs")
