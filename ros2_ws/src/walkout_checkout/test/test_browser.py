"""Both pages driven in headless Chromium (Debian's chromium + chromium-driver, through
Selenium) against the real server: the shopper sees a pick within a second and can flag
the session; a reviewer signs in, edits a held receipt and issues it."""

import os
import shutil
import time
from pathlib import Path

import pytest

from walkout_checkout.bridge import CheckoutBridge, CheckoutParams
from walkout_checkout.store import ReceiptStore
from walkout_checkout.web import CheckoutWeb
from walkout_common.store import load_catalog, load_store
from walkout_common.types import Basket, BasketLine

ROOT = Path(__file__).resolve().parents[4]
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--window-size=390,844"]  # a phone's viewport

pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="Debian's chromium and chromium-driver are not installed")


@pytest.fixture(scope="module")
def browser():
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never fetch a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for f in FLAGS:
        opts.add_argument(f)
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=DRIVER))
    yield driver
    driver.quit()


@pytest.fixture
def app(tmp_path):
    store = load_store(ROOT / "calibration/nanostore/store.yaml")
    db = ReceiptStore(tmp_path / "r.sqlite")
    web = CheckoutWeb(db, store, load_catalog(ROOT / "calibration/nanostore/catalog.yaml", store)).start()
    yield web
    web.stop()
    db.close()


def basket(token, qty, open_=True, confidence=0.999, stamp=10.0):
    return Basket(token, stamp, [BasketLine("012000286209", "Sparkling water", qty, 199, confidence)] if qty else [], "USD", confidence,
                  open_, [])


def wait_for(cond, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False


def test_shopper_page_live_basket_receipt_and_flag(browser, app):
    from selenium.webdriver.common.by import By

    app.db.record_basket(basket("tok-shop", 0))
    app.db.record_basket(basket("someone-else", 5))
    browser.get(f"{app.url}/s/tok-shop")
    assert wait_for(lambda: "empty" in browser.find_element(By.ID, "lines").text)
    t_pick = time.monotonic()
    app.db.record_basket(basket("tok-shop", 2, stamp=11.0))
    assert wait_for(lambda: browser.find_element(By.ID, "total").text == "3.98 USD")
    assert time.monotonic() - t_pick < 1.0
    assert "Sparkling water" in browser.find_element(By.ID, "lines").text
    assert "someone-else" not in browser.page_source and "9.95" not in browser.page_source
    browser.find_element(By.ID, "wrong").click()
    assert wait_for(lambda: "review" in browser.find_element(By.ID, "flagged").text)
    assert app.db.flagged("tok-shop")
    CheckoutBridge("nanostore-1", db=app.db).on_basket(basket("tok-shop", 2, open_=False, stamp=20.0))
    assert wait_for(lambda: browser.find_element(By.ID, "status").get_attribute("data-status") == "review")


def test_reviewer_signs_in_edits_and_issues(browser, app):
    from selenium.webdriver.common.by import By

    app.db.add_reviewer("alice", "s3cret")
    CheckoutBridge("nanostore-1", CheckoutParams(approve_threshold=0.98), db=app.db).on_basket(
        basket("tok-held", 3, open_=False, confidence=0.6, stamp=40.0))
    plate = app.store.plates[0].id
    app.db.record_evidence("item_event", 39.0, {
        "event_id": f"{plate}@39.000", "plate_id": plate, "action": 0, "sku": "012000286209", "quantity": 3, "probability": 0.6,
        "reading": "3x Sparkling water by tok-held", "alternatives": [{"sku": "1x Sparkling water by tok-held", "probability": 0.3}],
        "candidates": [{"track_id": "a", "session_token": "tok-held", "probability": 1.0}]}, token="tok-held")
    browser.get(f"{app.url}/review")
    assert "Reviewer sign-in" in browser.page_source
    browser.find_element(By.ID, "name").send_keys("alice")
    browser.find_element(By.ID, "password").send_keys("s3cret")
    browser.find_element(By.ID, "signin").click()
    assert wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "a.held"))
    assert browser.find_element(By.ID, "who").text == "alice"
    browser.find_element(By.CSS_SELECTOR, "a.held").click()
    assert wait_for(lambda: browser.find_elements(By.ID, "reasons"))
    assert "low confidence" in browser.find_element(By.ID, "reasons").text
    qty = browser.find_element(By.NAME, "qty_012000286209")
    qty.clear()
    qty.send_keys("1")
    browser.find_element(By.NAME, "note").send_keys("camera shows one")
    # and says what happened at the plate: one bottle, not three
    browser.find_element(By.CSS_SELECTOR, "input[type=radio][value='1x Sparkling water by tok-held']").click()
    browser.find_element(By.ID, "approve").click()
    assert wait_for(lambda: browser.find_elements(By.ID, "decided"))
    r = app.db.receipt("tok-held")
    assert r.status == "approved" and r.total_cents == 199
    (d,) = app.db.decisions("tok-held")
    assert (d["reviewer"], d["action"], d["note"]) == ("alice", "edit", "camera shows one")
    assert [(v["event_id"], v["reading"]) for v in app.db.verdicts("tok-held")] == [(f"{plate}@39.000", "1x Sparkling water by tok-held")]
