"""Read what a Pilot-driven app shows, as plain text lines."""

from __future__ import annotations

from textual.app import App


def screen_lines(app: App) -> list[str]:
    """The characters on screen now, one string per terminal line."""
    strips = app.screen._compositor.render_strips()
    return ["".join(segment.text for segment in strip) for strip in strips]


def screen_text(app: App) -> str:
    return "\n".join(screen_lines(app))


async def wait_for(pilot, predicate, timeout: float = 5.0, step: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    """Let the app run until ``predicate()`` holds; fail after ``timeout`` seconds."""
    waited = 0.0
    while not predicate():
        await pilot.pause(step)
        waited += step
        if waited > timeout:
            raise AssertionError("condition not met in time")
