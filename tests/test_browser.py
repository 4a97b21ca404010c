"""A learner's first hour, in a real browser: JupyterLab as `make lab` starts it, driven by
Playwright in Debian's headless Chromium.

As a learner: open the printed URL (notebook 00 in the course kernel, no dialog), reach
solutions/ in the file browser (each lesson listed once), run notebook 00 to the end with no
error output, write the exercise of notebook 03 wrong (no scaling) and read the checker's
hint, write it right and read "passed", save, reset the notebook with the documented
command, reopen it without a dialog, and shut JupyterLab down from its File menu.

It runs on a copy of the course (tracked files, committed in a fresh git repository), so
that the reset never touches the working tree. Screenshots go to build/screenshots/
(landing, hint, after reset; plus failure-*.png when a step fails). JupyterLab does not
paint cells that are off-screen, so outputs are read from the DOM's text, not from what is
visible.
"""

from __future__ import annotations

import subprocess
import time

import pytest
import requests

from tests.browser_support import (
    copy_course,
    launch_chromium,
    require_browser,
    screenshot,
    start_lab,
    stop_lab,
)
from tests.local_mirror import free_port

KERNEL_DISPLAY_NAME = "Python 3.11 (transformers-course)"
EXERCISE_HEAD = "def scaled_dot_product_attention(q, k, v, mask=None):"

BUGGY = """def scaled_dot_product_attention(q, k, v, mask=None):
    scores = ops.matmul(q, ops.swapaxes(k, -1, -2))
    if mask is not None:
        scores = ops.where(mask, scores, -1e9)
    weights = ops.softmax(scores, axis=-1)
    return ops.matmul(weights, v), weights"""

CORRECT = """def scaled_dot_product_attention(q, k, v, mask=None):
    d_k = ops.shape(q)[-1]
    scores = ops.matmul(q, ops.swapaxes(k, -1, -2)) / ops.sqrt(ops.cast(d_k, "float32"))
    if mask is not None:
        scores = ops.where(mask, scores, -1e9)
    weights = ops.softmax(scores, axis=-1)
    return ops.matmul(weights, v), weights"""

pytestmark = pytest.mark.slow


def _panel(page, name: str):
    """The notebook panel whose tab is ``name`` (waits until it is the current one)."""
    page.locator(".lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel", has_text=name).first.wait_for(
        timeout=60_000
    )
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    # Loaded and connected: the toolbar names a kernel (it says "No Kernel" while it connects).
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        dialog = page.locator(".jp-Dialog")
        if dialog.count():  # e.g. "File Load Error ... is more recent than ....py"
            raise AssertionError(
                f"a dialog opened with {name}: {' '.join(dialog.first.inner_text().split())[:800]}"
            )
        kernel = panel.locator(".jp-Toolbar-kernelName")
        name = kernel.first.inner_text().strip() if kernel.count() else ""
        indicator = page.locator(".jp-Notebook-ExecutionIndicator")  # in the status bar (course setting)
        status = indicator.first.get_attribute("data-status") if indicator.count() else None
        if name and name != "No Kernel" and status == "idle" and panel.locator(".jp-CodeCell").count() > 0:
            return panel
        time.sleep(0.5)
    raise TimeoutError(f"{name}: no kernel connected within 120 s")


def _wait_idle(panel, timeout: float) -> None:
    """Wait until the kernel of ``panel`` is idle and no cell waits to run ([*])."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = panel.page.locator(".jp-Notebook-ExecutionIndicator").first.get_attribute("data-status")
        prompts = panel.locator(".jp-CodeCell .jp-InputPrompt").evaluate_all(
            "els => els.map(e => e.textContent)"
        )
        if status == "idle" and not any("*" in p for p in prompts):
            return
        time.sleep(1)
    raise TimeoutError(f"the kernel was still busy after {timeout:.0f} s")


def _code_cell(panel, text: str):
    """The code cell whose source contains ``text``."""
    cell = panel.locator(".jp-CodeCell").filter(has=panel.page.locator(".cm-content", has_text=text))
    assert cell.count() == 1, f"expected one code cell containing {text!r}, found {cell.count()}"
    return cell.first


def _type_into(page, cell, source: str) -> None:
    """Replace the cell's source as a learner would: click into it, select all, type."""
    editor = cell.locator(".cm-content")
    editor.scroll_into_view_if_needed()
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(source)  # no key-by-key auto-indent or auto-closed brackets


def _output_text(cell) -> str:
    return cell.locator(".jp-OutputArea").evaluate("e => e.textContent")


def _run_exercise_and_checker(page, panel, source: str) -> str:
    """Type ``source`` in the exercise cell, run it and the checker cell below; the checker's text."""
    exercise = _code_cell(panel, EXERCISE_HEAD)
    _type_into(page, exercise, source)
    page.keyboard.press("Shift+Enter")  # runs the exercise, selects the checker cell
    page.keyboard.press("Shift+Enter")  # runs the checker
    checker = _code_cell(panel, "check_scaled_dot_product_attention(scaled_dot_product_attention)")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        text = _output_text(checker)
        if "scaled_dot_product_attention:" in text:
            checker.scroll_into_view_if_needed()
            return text
        time.sleep(0.5)
    raise TimeoutError(f"the checker printed nothing within 120 s (output: {_output_text(checker)!r})")


def _open_from_file_browser(page, folder: str, name: str) -> None:
    page.locator(".jp-BreadCrumbs-home").click()
    page.locator(".jp-DirListing-item", has_text=folder).first.dblclick()
    page.locator(".jp-DirListing-item", has_text=name).first.dblclick()


def _listing(page) -> list[str]:
    page.wait_for_timeout(500)
    return page.locator(".jp-DirListing-content .jp-DirListing-itemText").all_inner_texts()


def test_first_hour_in_jupyterlab(tmp_path):
    require_browser()
    from playwright.sync_api import sync_playwright

    course = copy_course(tmp_path / "course")
    (tmp_path / "home").mkdir()
    lab = start_lab(course, free_port(), tmp_path / "home")
    step = "start"
    try:
        with sync_playwright() as playwright:
            context, page = launch_chromium(playwright, tmp_path / "chromium-profile")
            try:
                step = "landing"
                # Only the course's kernel is on offer.
                specs = requests.get(
                    f"{lab.base}/api/kernelspecs", params={"token": lab.token}, timeout=30
                ).json()
                assert sorted(specs["kernelspecs"]) == ["transformers-course"], sorted(specs["kernelspecs"])
                assert lab.url.split("?")[0].endswith("/lab/tree/notebooks/00_start_here.ipynb"), lab.url
                page.goto(lab.url)
                panel = _panel(page, "00_start_here.ipynb")
                assert panel.locator(".jp-Toolbar-kernelName").inner_text().strip() == KERNEL_DISPLAY_NAME
                page.wait_for_timeout(2000)  # a pop-up (news, kernel choice) would show by now
                assert page.locator(".jp-Dialog").count() == 0, page.locator(".jp-Dialog").all_inner_texts()
                assert page.locator(".jp-Notification-Toast").count() == 0, page.locator(
                    ".jp-Notification-Toast"
                ).all_inner_texts()
                # The execution progress sits in the status bar, visible wherever the notebook is scrolled.
                assert page.locator("#jp-main-statusbar .jp-Notebook-ExecutionIndicator").count() == 1
                landing = screenshot(page, "landing")

                step = "file browser"
                page.locator(".jp-BreadCrumbs-home").click()
                top = _listing(page)
                assert {"notebooks", "solutions", "docs", "README.md"} <= set(top), top
                page.locator(".jp-DirListing-item", has_text="notebooks").first.dblclick()
                lessons = _listing(page)
                assert "03_multi_head_attention.ipynb" in lessons, lessons
                assert not [name for name in lessons if name.endswith(".py")], (
                    f"jupytext twins listed: {lessons}"
                )

                step = "run notebook 00"
                page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").first.click()
                page.get_by_role("menuitem", name="Run", exact=True).click()
                page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
                page.wait_for_timeout(2000)
                _wait_idle(panel, timeout=600)
                prompts = panel.locator(".jp-CodeCell .jp-InputPrompt").evaluate_all(
                    "els => els.map(e => e.textContent)"
                )
                assert all(any(ch.isdigit() for ch in p) for p in prompts), f"cells not run: {prompts}"
                errors = panel.locator(
                    ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
                )
                assert errors.count() == 0, errors.evaluate_all(
                    "els => els.map(e => e.textContent.slice(0, 2000))"
                )

                step = "open notebook 03"
                _open_from_file_browser(page, "notebooks", "03_multi_head_attention.ipynb")
                panel = _panel(page, "03_multi_head_attention.ipynb")
                first_code = panel.locator(".jp-CodeCell").first
                first_code.locator(".cm-content").click()
                page.keyboard.press("Shift+Enter")  # the imports (the exercise needs `ops` and the checker)
                page.wait_for_timeout(1000)
                _wait_idle(panel, timeout=600)  # TensorFlow's import: minutes on a loaded 2-core machine

                step = "buggy exercise"
                hint = _run_exercise_and_checker(page, panel, BUGGY)
                assert "[not yet]" in hint and "the scores are not scaled" in hint and "sqrt(d_k)" in hint, (
                    hint
                )
                screenshot(page, "buggy-exercise-hint")

                step = "correct exercise"
                verdict = _run_exercise_and_checker(page, panel, CORRECT)
                assert "[passed]" in verdict, verdict

                step = "save"
                page.keyboard.press("Escape")
                page.keyboard.press("Control+s")
                page.locator(".lm-TabBar-tab.lm-mod-current.jp-mod-dirty").wait_for(
                    state="detached", timeout=30_000
                )
                twin = course / "notebooks" / "03_multi_head_attention.py"
                deadline = time.monotonic() + 30
                while "ops.sqrt(ops.cast(d_k" not in twin.read_text() and time.monotonic() < deadline:
                    time.sleep(0.5)
                assert "ops.sqrt(ops.cast(d_k" in twin.read_text(), (
                    "saving did not write the learner's code to the .py twin"
                )

                step = "reset"
                page.locator(
                    ".lm-TabBar-tab.lm-mod-current .lm-TabBar-tabCloseIcon"
                ).click()  # close the tab first
                page.locator(".lm-TabBar-tab", has_text="03_multi_head_attention.ipynb").wait_for(
                    state="detached", timeout=30_000
                )
                reset = subprocess.run(
                    ["make", "--no-print-directory", "reset", "NB=03"],
                    cwd=course,
                    capture_output=True,
                    text=True,
                    timeout=60,
                    check=False,
                )
                assert reset.returncode == 0, reset.stdout + reset.stderr
                assert "Restored" in reset.stdout, reset.stdout
                _open_from_file_browser(page, "notebooks", "03_multi_head_attention.ipynb")
                panel = _panel(page, "03_multi_head_attention.ipynb")
                page.wait_for_timeout(
                    3000
                )  # a "File Load Error" or "Save your work" dialog would show by now
                dialogs = page.locator(".jp-Dialog")
                assert dialogs.count() == 0, f"dialog after the reset: {dialogs.all_inner_texts()}"
                exercise = _code_cell(panel, EXERCISE_HEAD)
                source = exercise.locator(".cm-content").evaluate("e => e.textContent")
                assert "raise NotImplementedError" in source and "ops.sqrt" not in source, source
                exercise.scroll_into_view_if_needed()
                screenshot(page, "after-reset")

                step = "shut down"
                page.get_by_role("menuitem", name="File", exact=True).click()
                page.get_by_role("menuitem", name="Shut Down", exact=True).click()
                page.locator(".jp-Dialog .jp-mod-accept").click()
                assert lab.process.wait(timeout=60) == 0, lab.log.read_text()[-2000:]
                print(f"screenshots: {landing.parent}")
            except BaseException:
                try:
                    shot = screenshot(page, f"failure-{step.replace(' ', '-')}")
                    print(f"step '{step}' failed; screenshot {shot}")
                except Exception as shot_error:  # noqa: BLE001 - the original failure matters more
                    print(f"no screenshot: {shot_error}")
                raise
            finally:
                context.close()
    except BaseException as exc:
        log = lab.log.read_text()[-3000:]
        raise AssertionError(f"step '{step}' failed: {exc}\n--- JupyterLab's log ---\n{log}") from exc
    finally:
        stop_lab(lab.process)
