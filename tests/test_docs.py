"""The documentation site builds without a warning and renders in a headless browser."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
#: CI sets this: the browser check must run there, not skip.
REQUIRE_CHROMIUM = os.environ.get("SB3_CCDDPG_REQUIRE_CHROMIUM") == "1"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built from a fresh environment with warnings as errors, as ``make docs`` builds it."""
    output = tmp_path_factory.mktemp("html")
    command = [sys.executable, "-m", "sphinx", "-E", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(output)]
    built = subprocess.run(command, capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr
    return output


def test_every_public_name_is_in_the_api_reference(site: Path) -> None:
    import sb3_ccddpg
    import sb3_ccddpg_envs

    pages = {"sb3_ccddpg": sb3_ccddpg, "sb3_ccddpg_envs": sb3_ccddpg_envs}
    for page, package in pages.items():
        html = (site / "api" / f"{page}.html").read_text()
        for name in package.__all__:
            if name != "__version__":
                assert f'id="{page}.{name}"' in html, f"{page}.{name} is not documented"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium through its WebDriver (Debian's ``chromium`` and ``chromium-driver``)."""
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        if REQUIRE_CHROMIUM:
            pytest.fail("SB3_CCDDPG_REQUIRE_CHROMIUM=1 but chromium or chromedriver is missing: run `make chromium`")
        pytest.skip("Chromium is not installed (`make chromium` installs Debian's chromium and chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _navigation(browser: Any) -> list[str]:
    from selenium.webdriver.common.by import By

    return [link.text for link in browser.find_elements(By.CSS_SELECTOR, ".wy-menu-vertical a") if link.text]


def test_the_index_renders_with_its_navigation_and_an_image(site: Path, browser: Any, tmp_path: Path) -> None:
    browser.get((site / "index.html").as_uri())
    assert browser.title.startswith("sb3-ccddpg")
    assert {"Getting started", "The environment", "CC-DDPG", "Results", "API reference"} <= set(_navigation(browser))
    images = browser.execute_script(
        "return Array.from(document.images).map(image => [image.src, image.complete && image.naturalWidth > 0])"
    )
    assert any(src.endswith("scale.png") and loaded for src, loaded in images), images
    assert browser.save_screenshot(str(tmp_path / "index.png")) and (tmp_path / "index.png").stat().st_size > 10_000


def test_an_api_page_renders_the_docstrings(site: Path, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get((site / "api" / "sb3_ccddpg.html").as_uri())
    assert "sb3_ccddpg" in browser.title and "API reference" in _navigation(browser)
    signatures = [element.text for element in browser.find_elements(By.CSS_SELECTOR, "dl.py.class > dt")]
    assert any("CCDDPG" in text for text in signatures), signatures
    assert "Coordinated Constrained DDPG" in browser.page_source  # the class docstring, rendered
