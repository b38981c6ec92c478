"""The key bar is made again only when the keys it shows change."""

from __future__ import annotations

from textual.widgets._footer import FooterKey

from console.widgets.footer import SteadyFooter
from tests.simapp import simulator_app, wait_settled


def keys(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [k.key_display for k in app.query(FooterKey)]


async def test_the_footer_is_made_again_only_for_other_keys() -> None:
    app = simulator_app("nominal")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_settled(pilot)
        footer = app.query_one(SteadyFooter)
        # Textual's Footer was made four times before the first frame.
        assert footer.composed == 1
        assert "s" not in keys(app)
        await pilot.press("tab")  # the transfers table: its keys join the bar
        await pilot.pause()
        assert footer.composed == 2 and keys(app)[:2] == ["/", "s"]
        await pilot.press("tab")  # the tape table: the same keys
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "tape-table"
        assert footer.composed == 2
        await pilot.press("slash")  # the filter box: other keys
        await pilot.pause()
        assert footer.composed == 3 and "s" not in keys(app)
