"""Regenerate docs/browse.svg, the browser as a reader first meets it, with Textual's own
`save_screenshot`.

Usage: python docs/browse_screenshot.py
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from immunofacts.cache import open_dataset
from immunofacts.paths import bundled_data_path as default_data_path
from immunofacts.tui.app import Browser

HERE = Path(__file__).resolve().parent
#: The claim under the cursor in the picture, and the size of the terminal.
CLAIM = "claim-abdominal-fat-immune-cells-reverse-aging"
SIZE = (110, 32)


async def shoot() -> None:
    data = default_data_path()
    app = Browser(open_dataset(data), data_path=data)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.select(CLAIM)
        await pilot.pause(0.2)
        app.save_screenshot("browse.svg", path=str(HERE))


if __name__ == "__main__":
    asyncio.run(shoot())
    print(f"wrote {HERE / 'browse.svg'}")
